//! The contract's enums: GraphQL mirrors of the domain's (`remote`), so the
//! domain and the stored columns know nothing of GraphQL. Each converts
//! both ways with `From`; the names and descriptions are the schema's.

use async_graphql::Enum;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::Role")]
pub enum Role {
    Admin,
    BillingManager,
    Member,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::AccountKind")]
pub enum AccountKind {
    /// A person who signs in with an email address.
    Person,
    /// An organization-managed user: no email, exists for automated processes.
    Managed,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::domain::invitations::InvitationStatus")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::usage::UsageMetric")]
pub enum UsageMetric {
    /// GraphQL and OAuth requests made in the organization's name.
    ApiRequests,
    /// Successful access-token checks (introspection) for the organization's tokens.
    TokenVerifications,
    TokensIssued,
    InvitationsSent,
    MembersJoined,
    /// Highest number of seats in use at any moment of the bucket.
    PeakSeats,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::usage::series::UsageInterval")]
pub enum UsageInterval {
    Day,
    Month,
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::events::SeatChangeKind")]
pub enum SeatChangeKind {
    Assigned,
    Revoked,
    LimitChanged,
}
