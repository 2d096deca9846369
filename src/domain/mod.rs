//! Services: every business rule of rules.md. Each public function is one
//! transaction that also writes its audit event (and, later, its mail).

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod invitation_accept;
pub mod invitations;
pub mod invite_csv;
pub mod members;
pub mod messages;
pub mod onboarding;
pub mod organizations;
pub mod seats;
pub mod service_accounts;
pub mod signin;
pub mod tokens;
pub mod usage;
pub mod validate;

pub use crate::entity::enums::{AccountKind, Role};

use crate::app::AppState;
use crate::auth::Principal;
use crate::graphql::loaders::Loaders;

/// Everything a service function needs about the current request.
#[derive(Clone)]
pub struct Caller {
    pub state: AppState,
    pub principal: Principal,
    pub loaders: Loaders,
}

impl Caller {
    pub fn new(state: AppState, principal: Principal) -> Self {
        let loaders = Loaders::new(&state);
        Caller {
            state,
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
