//! Authentication: the bearer JWT of a request turned into its principal,
//! read fresh from the database on every request (a demoted or deleted
//! account acts with its current rights; a sign-in link's session holds
//! only while the rules it was minted under hold).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{Role, Services};
use crate::auth::jwt::Claims;
use crate::auth::{Principal, Scope};
use crate::entity::{account, membership, service_account, sign_in_token};
use crate::error::{AppError, AppResult};

/// Read `Authorization: Bearer <jwt>`. No header: anonymous. A header that
/// does not verify: UNAUTHENTICATED (a client should know its token is bad).
pub async fn authenticate(
    services: &Services,
    authorization: Option<&str>,
) -> AppResult<Principal> {
    Ok(authenticate_session(services, authorization).await?.0)
}

/// As `authenticate`, also giving when the bearer JWT expires (websocket
/// sessions end their subscriptions then).
pub async fn authenticate_session(
    services: &Services,
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
    let claims = services
        .keys
        .verify(token, services.clock.now())
        .map_err(|_| AppError::Unauthenticated)?;
    let sub: Uuid = claims.sub.parse().map_err(|_| AppError::Unauthenticated)?;
    let expires = chrono::DateTime::from_timestamp(claims.exp, 0);
    match claims.kind.as_str() {
        "person" if claims.sil.is_some() => {
            let scope = impersonation(services, sub, &claims).await?;
            services
                .last_used
                .touch_sign_in_link(scope.link_id, services.clock.now());
            Ok((
                Principal::Person {
                    account_id: sub,
                    site_admin: false,
                    scope: Some(scope),
                    session_epoch: 0,
                },
                expires,
            ))
        }
        "person" => {
            // Every request: one narrow row, its LIMIT a literal (db::first).
            let acc: PersonFlags = crate::db::first(
                &services.db.conn,
                &account::Entity::find_by_id(sub)
                    .select_only()
                    .column(account::Column::IsSiteAdmin)
                    .column(account::Column::SessionEpoch)
                    .limit(1),
            )
            .await?
            .ok_or(AppError::Unauthenticated)?;
            // A claimed account ends the sessions issued before its claim.
            if claims.sep.unwrap_or(0) < i64::from(acc.session_epoch) {
                return Err(AppError::Unauthenticated);
            }
            Ok((
                Principal::Person {
                    account_id: sub,
                    site_admin: acc.is_site_admin,
                    scope: None,
                    session_epoch: acc.session_epoch,
                },
                expires,
            ))
        }
        "service" => {
            let sa: service_account::Model = crate::db::first(
                &services.db.conn,
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

/// A sign-in link's session holds only while what allowed the link still
/// holds: the link is live, its target is still a member below ADMIN of the
/// link's organization, and its minter is still that organization's ADMIN
/// (or a site admin). Anything else is UNAUTHENTICATED (401).
async fn impersonation(services: &Services, sub: Uuid, claims: &Claims) -> AppResult<Scope> {
    let parse = |v: Option<&str>| -> AppResult<Uuid> {
        v.and_then(|s| s.parse().ok())
            .ok_or(AppError::Unauthenticated)
    };
    let scope = Scope {
        organization_id: parse(claims.org.as_deref())?,
        actor_account_id: parse(claims.act.as_ref().map(|a| a.sub.as_str()))?,
        link_id: parse(claims.sil.as_deref())?,
    };
    let link_ok = |l: &sign_in_token::Model| {
        l.account_id == sub
            && l.organization_id == Some(scope.organization_id)
            && l.created_by_account_id == Some(scope.actor_account_id)
    };
    let link: Option<sign_in_token::Model> = crate::db::first(
        &services.db.conn,
        &sign_in_token::Entity::find_by_id(scope.link_id).limit(1),
    )
    .await?;
    let link = link.filter(link_ok).ok_or(AppError::Unauthenticated)?;
    if !link_holds(services, &link, services.clock.now()).await? {
        return Err(AppError::Unauthenticated);
    }
    Ok(scope)
}

/// Does a session's scope still hold (for long-lived subscriptions)?
pub async fn scope_holds(services: &Services, account_id: Uuid, scope: &Scope) -> AppResult<bool> {
    let link: Option<sign_in_token::Model> = crate::db::first(
        &services.db.conn,
        &sign_in_token::Entity::find_by_id(scope.link_id).limit(1),
    )
    .await?;
    match link {
        Some(l) if l.account_id == account_id => {
            link_holds(services, &l, services.clock.now()).await
        }
        _ => Ok(false),
    }
}

/// The rules a sign-in link was minted under, read again now (on redeem and
/// on every request of its session).
pub async fn link_holds(
    services: &Services,
    link: &sign_in_token::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<bool> {
    let (Some(org), Some(minter)) = (link.organization_id, link.created_by_account_id) else {
        return Ok(false);
    };
    if link.expired_at.is_some() || link.expires_at <= now {
        return Ok(false);
    }
    let roles: Vec<membership::Model> = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::AccountId.is_in([link.account_id, minter]))
        .all(&services.db.conn)
        .await?;
    let role_of = |acc: Uuid| roles.iter().find(|m| m.account_id == acc).map(|m| m.role);
    match role_of(link.account_id) {
        Some(r) if r != Role::Admin => {}
        _ => return Ok(false),
    }
    if link.account_id != minter && role_of(minter) == Some(Role::Admin) {
        return Ok(true);
    }
    let minter_is_site_admin = account::Entity::find_by_id(minter)
        .select_only()
        .column(account::Column::IsSiteAdmin)
        .into_model::<SiteAdminFlag>()
        .one(&services.db.conn)
        .await?
        .is_some_and(|a| a.is_site_admin);
    Ok(minter_is_site_admin)
}

#[derive(sea_orm::FromQueryResult)]
struct PersonFlags {
    is_site_admin: bool,
    session_epoch: i32,
}

#[derive(sea_orm::FromQueryResult)]
struct SiteAdminFlag {
    is_site_admin: bool,
}
