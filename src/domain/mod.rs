//! Services: every business rule of rules.md. Each public function is one
//! transaction that also writes its audit event (and, later, its mail).

pub mod accounts;
pub mod audit;
pub mod authn;
pub mod authz;
pub mod introspection;
pub mod invitation_accept;
pub mod invitations;
pub mod invite_csv;
pub mod last_used;
pub mod loaders;
pub mod members;
pub mod messages;
pub mod onboarding;
pub mod organizations;
pub mod page;
pub mod read;
pub mod seats;
pub mod service_accounts;
pub mod services;
pub mod signin;
pub mod tokens;
pub mod usage;
pub mod validate;

use async_graphql::Enum;

use crate::auth::Principal;
use loaders::Loaders;
pub use services::Services;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    BillingManager,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::BillingManager => "BILLING_MANAGER",
            Role::Member => "MEMBER",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "ADMIN" => Some(Role::Admin),
            "BILLING_MANAGER" => Some(Role::BillingManager),
            "MEMBER" => Some(Role::Member),
            _ => None,
        }
    }

    /// Stored values were written by us; an unknown one is a bug, read as MEMBER.
    pub fn from_db(s: &str) -> Role {
        Role::parse(s).unwrap_or(Role::Member)
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// A person who signs in with an email address.
    Person,
    /// An organization-managed user: no email, exists for automated processes.
    Managed,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Person => "PERSON",
            AccountKind::Managed => "MANAGED",
        }
    }

    pub fn from_db(s: &str) -> AccountKind {
        if s == "MANAGED" {
            AccountKind::Managed
        } else {
            AccountKind::Person
        }
    }
}

/// Everything a service function needs about the current request: the
/// shared services, who is asking, and this request's loaders (whose
/// cached rows never outlive the request or cross principals).
#[derive(Clone)]
pub struct Caller {
    pub state: Services,
    pub principal: Principal,
    pub loaders: Loaders,
}

impl Caller {
    pub fn new(services: Services, principal: Principal) -> Self {
        let loaders = Loaders::new(services.db.conn.clone());
        Caller {
            state: services,
            principal,
            loaders,
        }
    }

    /// Anonymous callers may only use the invitation and OAuth entry points.
    pub fn require_signed_in(&self) -> crate::error::AppResult<()> {
        if self.principal.is_anonymous() {
            Err(crate::error::AppError::Unauthenticated)
        } else {
            Ok(())
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.clock.now()
    }
}
