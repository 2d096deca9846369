//! Temporary sign-in tokens (CoCalc's "sign-in URL"): a reusable token that
//! yields a session JWT for an account until it expires or is expired.
//!
//! Who may mint one (rules.md footnote ¹): site admins, for anyone; an org
//! ADMIN, for an account that is a member of an organization where the
//! caller is ADMIN — never for a site admin, nor for an account that is ADMIN
//! of any organization where the caller is not ADMIN (no escalation).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::{audit, Caller, Role};
use crate::app::AppState;
use crate::auth::{tokens, Principal};
use crate::entity::{account, membership, sign_in_token};
use crate::error::{AppError, AppResult};

pub const MIN_LIFETIME: i64 = 60;
pub const MAX_LIFETIME: i64 = 7 * 24 * 3600;

/// Decide whether the caller may mint/expire sign-in tokens for `target`.
/// Returns the organization the right comes from (for the audit log).
async fn authorize(c: &Caller, target: Uuid) -> AppResult<Option<Uuid>> {
    let (me, site_admin) = match &c.principal {
        Principal::Anonymous => return Err(AppError::Unauthenticated),
        Principal::Service { .. } => {
            return Err(AppError::Forbidden(
                "service accounts cannot create sign-in tokens",
            ))
        }
        Principal::Person {
            account_id,
            site_admin,
        } => (*account_id, *site_admin),
    };
    let conn = &c.state.db.conn;
    let acc = account::Entity::find_by_id(target)
        .one(conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let theirs = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(target))
        .all(conn)
        .await?;
    if site_admin {
        return Ok(theirs.first().map(|m| m.organization_id));
    }
    let mine = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(me))
        .all(conn)
        .await?;
    let my_role = |org: Uuid| {
        mine.iter()
            .find(|m| m.organization_id == org)
            .map(|m| Role::from_db(&m.role))
    };
    let shared = theirs.iter().any(|m| my_role(m.organization_id).is_some());
    if !shared && target != me {
        return Err(AppError::NotFound);
    }
    let via = theirs
        .iter()
        .find(|m| my_role(m.organization_id) == Some(Role::Admin))
        .map(|m| m.organization_id);
    let escalation = acc.is_site_admin
        || theirs.iter().any(|m| {
            Role::from_db(&m.role) == Role::Admin && my_role(m.organization_id) != Some(Role::Admin)
        });
    match via {
        Some(org) if !escalation => Ok(Some(org)),
        _ => Err(AppError::Forbidden(
            "you may not create sign-in tokens for this account",
        )),
    }
}

pub async fn create(
    c: &Caller,
    target: Uuid,
    lifetime_seconds: i32,
) -> AppResult<(String, DateTime<Utc>)> {
    let lifetime = lifetime_seconds as i64;
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        return Err(AppError::bad_input(
            &["expiresInSeconds"],
            "expiresInSeconds must be 60 to 604800 (7 days)",
        ));
    }
    let via = authorize(c, target).await?;
    let now = c.now();
    let token = tokens::new_opaque_token();
    let expires_at = now + Duration::seconds(lifetime);
    let tx = c.state.db.write_tx().await?;
    sign_in_token::Entity::insert(sign_in_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(target),
        token_hash: Set(tokens::sha256_hex(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        expired_at: Set(None),
        created_by_account_id: Set(c.principal.account_id()),
    })
    .exec_without_returning(&*tx)
    .await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: via,
            action: "signin_token.create",
            actor: &c.principal,
            target_account_id: Some(target),
            data: json!({ "expiresAt": expires_at }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((token, expires_at))
}

async fn find(state: &AppState, token: &str) -> AppResult<Option<sign_in_token::Model>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(sign_in_token::Entity::find()
        .filter(sign_in_token::Column::TokenHash.eq(tokens::sha256_hex(token)))
        .one(&state.db.conn)
        .await?)
}

/// Returns whether the token was live until now.
pub async fn expire(c: &Caller, token: &str) -> AppResult<bool> {
    c.require_signed_in()?;
    let t = find(&c.state, token).await?.ok_or(AppError::NotFound)?;
    let via = authorize(c, t.account_id).await?;
    let now = c.now();
    if t.expired_at.is_some() || t.expires_at <= now {
        return Ok(false);
    }
    let tx = c.state.db.write_tx().await?;
    let account_id = t.account_id;
    let mut am: sign_in_token::ActiveModel = t.into();
    am.expired_at = Set(Some(now));
    am.update(&*tx).await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: via,
            action: "signin_token.expire",
            actor: &c.principal,
            target_account_id: Some(account_id),
            data: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// `GET /signin/{token}`: the account it signs in, while it is live.
pub async fn redeem(state: &AppState, token: &str) -> AppResult<Option<Uuid>> {
    let now = state.clock.now();
    Ok(find(state, token)
        .await?
        .filter(|t| t.expired_at.is_none() && t.expires_at > now)
        .map(|t| t.account_id))
}
