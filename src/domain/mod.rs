//! Services: every business rule of rules.md. Each public function is one
//! transaction that also writes its audit event (and, later, its mail).

pub mod accounts;
pub mod audit;
pub mod authn;
pub mod authz;
pub mod batch;
pub mod introspection;
pub mod invitation_accept;
pub mod invitation_changes;
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

pub use crate::entity::enums::{AccountKind, Role};

use crate::auth::Principal;
use loaders::Loaders;
pub use services::Services;

/// Everything a service function needs about the current request: the
/// shared services, who is asking, and this request's loaders (whose
/// cached rows never outlive the request or cross principals).
#[derive(Clone)]
pub struct Caller {
    pub services: Services,
    pub principal: Principal,
    pub loaders: Loaders,
}

impl Caller {
    pub fn new(services: Services, principal: Principal) -> Self {
        let loaders = Loaders::new(services.db.conn.clone());
        Caller {
            services,
            principal,
            loaders,
        }
    }

    /// The write transaction of a mutation. What the request read before
    /// is forgotten first (`Loaders::forget`): the payload, read after the
    /// commit, must show the write, even in the second mutation of a
    /// document whose first one read the same rows or roles.
    pub async fn write_tx(&self) -> crate::error::AppResult<crate::db::WriteTx<'_>> {
        self.loaders.forget();
        self.services.db.write_tx().await
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
        self.services.clock.now()
    }
}
