//! The bearer principal of a request, read fresh from the database on every
//! request (a demoted or deleted account acts with its current rights).

use sea_orm::{EntityTrait, QuerySelect};
use uuid::Uuid;

use crate::app::AppState;
use crate::entity::{account, service_account};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Person {
        account_id: Uuid,
        site_admin: bool,
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
}

/// Read `Authorization: Bearer <jwt>`. No header: anonymous. A header that
/// does not verify: UNAUTHENTICATED (a client should know its token is bad).
pub async fn authenticate(state: &AppState, authorization: Option<&str>) -> AppResult<Principal> {
    Ok(authenticate_session(state, authorization).await?.0)
}

/// As `authenticate`, also giving when the bearer JWT expires (websocket
/// sessions end their subscriptions then).
pub async fn authenticate_session(
    state: &AppState,
    authorization: Option<&str>,
) -> AppResult<(Principal, Option<chrono::DateTime<chrono::Utc>>)> {
    let Some(value) = authorization else {
        return Ok((Principal::Anonymous, None));
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(AppError::Unauthenticated)?
        .trim();
    let claims = state
        .keys
        .verify(token, state.clock.now())
        .map_err(|_| AppError::Unauthenticated)?;
    let sub: Uuid = claims.sub.parse().map_err(|_| AppError::Unauthenticated)?;
    let expires = chrono::DateTime::from_timestamp(claims.exp, 0);
    match claims.kind.as_str() {
        "person" => {
            // Every request: one narrow row, its LIMIT a literal (db::first).
            let acc: SiteAdminFlag = crate::db::first(
                &state.db.conn,
                &account::Entity::find_by_id(sub)
                    .select_only()
                    .column(account::Column::IsSiteAdmin)
                    .limit(1),
            )
            .await?
            .ok_or(AppError::Unauthenticated)?;
            Ok((
                Principal::Person {
                    account_id: sub,
                    site_admin: acc.is_site_admin,
                },
                expires,
            ))
        }
        "service" => {
            let sa: service_account::Model = crate::db::first(
                &state.db.conn,
                &service_account::Entity::find_by_id(sub).limit(1),
            )
            .await?
            .ok_or(AppError::Unauthenticated)?;
            // A JWT minted before a rotation stays valid; deletion ends it.
            Ok((
                Principal::Service {
                    service_account_id: sa.id,
                    organization_id: sa.organization_id,
                },
                expires,
            ))
        }
        _ => Err(AppError::Unauthenticated),
    }
}

#[derive(sea_orm::FromQueryResult)]
struct SiteAdminFlag {
    is_site_admin: bool,
}
