//! The stored enums: typed columns (sea-orm `ActiveEnum`) over the text the
//! tables already hold (docs/data-model.md), so reading a row whose column
//! holds any other text fails (`DbErr::Type`) instead of defaulting to some
//! variant. The domain re-exports them; GraphQL mirrors them (graphql/enums.rs).

use sea_orm::entity::prelude::*;

/// One stored enum: the variants with the exact text each is stored as (the
/// columns are `text`, no database enum type), and `as_str` giving that text.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:tt,)+ }) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name {
            $(#[sea_orm(string_value = $text)] $variant,)+
        }

        impl $name {
            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }
    };
}

stored_enum! {
    /// A member's role in an organization (`memberships.role`,
    /// `invitations.role`).
    Role {
        Admin = "ADMIN",
        BillingManager = "BILLING_MANAGER",
        Member = "MEMBER",
    }
}

stored_enum! {
    /// `accounts.kind`: a person (signs in with an email address) or an
    /// organization-managed user (no email).
    AccountKind {
        Person = "PERSON",
        Managed = "MANAGED",
    }
}

stored_enum! {
    /// `invitations.status` as stored. EXPIRED is not stored: it is derived
    /// from PENDING and `expires_at` (domain `InvitationStatus::of`).
    StoredInvitationStatus {
        Pending = "PENDING",
        Accepted = "ACCEPTED",
        Declined = "DECLINED",
        Revoked = "REVOKED",
    }
}

stored_enum! {
    /// `usage_counters.metric` (contract `UsageMetric`).
    UsageMetric {
        ApiRequests = "API_REQUESTS",
        TokenVerifications = "TOKEN_VERIFICATIONS",
        TokensIssued = "TOKENS_ISSUED",
        InvitationsSent = "INVITATIONS_SENT",
        MembersJoined = "MEMBERS_JOINED",
        PeakSeats = "PEAK_SEATS",
    }
}

stored_enum! {
    /// `mail_outbox.kind`: the `X-Orgraph-Kind` values of cli.md.
    MailKind {
        Invitation = "invitation",
        Welcome = "welcome",
        AccessToken = "access-token",
        MembersAdded = "members-added",
        SeatAssigned = "seat-assigned",
        Message = "message",
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;

    use super::*;

    /// Each variant reads back from the text it writes, and `as_str` is
    /// that text; any other text is an error, not a variant.
    fn round_trips<E: ActiveEnum<Value = String> + Copy + PartialEq + std::fmt::Debug>(
        as_str: fn(E) -> &'static str,
    ) {
        for v in E::iter() {
            assert_eq!(v.to_value(), as_str(v));
            assert_eq!(E::try_from_value(&v.to_value()).unwrap(), v);
        }
        assert!(E::try_from_value(&"OWNER".to_string()).is_err());
        assert!(E::try_from_value(&String::new()).is_err());
    }

    #[test]
    fn stored_texts_round_trip_and_unknown_ones_are_errors() {
        round_trips(Role::as_str);
        round_trips(AccountKind::as_str);
        round_trips(StoredInvitationStatus::as_str);
        round_trips(UsageMetric::as_str);
        round_trips(MailKind::as_str);
        // Lower case is another text, not the same role.
        assert!(Role::try_from_value(&"admin".to_string()).is_err());
    }
}
