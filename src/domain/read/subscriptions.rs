//! Who may watch an organization's seat changes (SA, A, B, S), decided
//! from fresh rows at subscribe time and again whenever an event says the
//! subscriber's access may have shrunk.

use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::authz::standing_in;
use crate::domain::Caller;
use crate::entity::{account, service_account};
use crate::error::{AppError, AppResult};
use crate::events::Event;

/// May this principal (still) watch this organization's seats? Fresh
/// reads, not the request's loaders: a subscription outlives its request.
pub async fn may_watch_seats(c: &Caller, org_id: Uuid) -> AppResult<()> {
    c.require_signed_in()?;
    let conn = &c.services.db.conn;
    let exists = match &c.principal {
        // Still there, and not claimed since the session began.
        Principal::Person {
            account_id,
            session_epoch,
            scope,
            ..
        } => account::Entity::find_by_id(*account_id)
            .one(conn)
            .await?
            .is_some_and(|a| scope.is_some() || a.session_epoch <= *session_epoch),
        Principal::Service {
            service_account_id, ..
        } => service_account::Entity::find_by_id(*service_account_id)
            .one(conn)
            .await?
            .is_some(),
        Principal::Anonymous => false,
    };
    if !exists {
        return Err(AppError::Unauthenticated);
    }
    // A sign-in link's session watches only while its link holds.
    if let (Some(acc), Some(scope)) = (c.principal.account_id(), c.principal.scope()) {
        if !crate::domain::authn::scope_holds(&c.services, acc, &scope).await? {
            return Err(AppError::Unauthenticated);
        }
    }
    let st = standing_in(conn, &c.principal, org_id).await?;
    st.require(st.billing())
}

/// Whether an event may have shrunk this principal's access (so that
/// `may_watch_seats` is asked again).
pub fn concerns(principal: &Principal, e: &Event) -> bool {
    match e {
        Event::AccessChanged {
            account_id,
            service_account_id,
            ..
        } => {
            (account_id.is_some() && *account_id == principal.account_id())
                || (service_account_id.is_some()
                    && *service_account_id == principal.service_account_id())
        }
        Event::Seat(_) => false,
    }
}
