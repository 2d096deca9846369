//! The bearer principal of a request. `domain::authn` reads it fresh from
//! the database on every request (a demoted or deleted account acts with
//! its current rights).

use uuid::Uuid;

/// A session that came from a sign-in link: an admin acting as a member,
/// in one organization only (README, Permissions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    pub organization_id: Uuid,
    /// The admin who minted the link (the JWT's RFC 8693 `act`).
    pub actor_account_id: Uuid,
    pub link_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Person {
        account_id: Uuid,
        /// Always false for a scoped session.
        site_admin: bool,
        /// Some for a sign-in link's session: no rights outside that organization.
        scope: Option<Scope>,
        /// The account's session epoch the JWT carried; long-lived
        /// subscriptions end when the account's moves on (a claim).
        session_epoch: i32,
    },
    Service {
        service_account_id: Uuid,
        organization_id: Uuid,
    },
}

impl Principal {
    pub fn account_id(&self) -> Option<Uuid> {
        match self {
            Principal::Person { account_id, .. } => Some(*account_id),
            _ => None,
        }
    }

    pub fn service_account_id(&self) -> Option<Uuid> {
        match self {
            Principal::Service {
                service_account_id, ..
            } => Some(*service_account_id),
            _ => None,
        }
    }

    pub fn is_site_admin(&self) -> bool {
        matches!(
            self,
            Principal::Person {
                site_admin: true,
                ..
            }
        )
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Principal::Anonymous)
    }

    /// An ordinary person's session (no sign-in link scope).
    pub fn person(account_id: Uuid, site_admin: bool) -> Principal {
        Principal::Person {
            account_id,
            site_admin,
            scope: None,
            session_epoch: 0,
        }
    }

    pub fn scope(&self) -> Option<Scope> {
        match self {
            Principal::Person { scope, .. } => *scope,
            _ => None,
        }
    }
}
