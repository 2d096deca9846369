//! Access tokens (invariant 3): issued only to seated members, never
//! outliving the plan, revoked with the seat or the membership, stored as
//! SHA-256 and shown once.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::authz::standing_in;
use super::{audit, validate, Caller};
use crate::auth::tokens;
use crate::db::lock_org;
use crate::entity::{access_token, membership, organization, seat};
use crate::error::{AppError, AppResult};
use crate::usage::UsageMetric;

pub const MAX_SCOPES: usize = 20;

/// The plan's last instant (its last day at 23:59:59 UTC), if it has an end.
pub fn plan_end(org: &organization::Model) -> Option<DateTime<Utc>> {
    org.plan_ends_on.map(|end| {
        end.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time"))
            .and_utc()
    })
}

/// The latest expiry a token may have: the plan's end, or one year ahead
/// when the plan has no end.
pub fn max_expiry(org: &organization::Model, now: DateTime<Utc>) -> DateTime<Utc> {
    plan_end(org).unwrap_or(now + Duration::days(365))
}

/// When a token stops working: its own expiry, or the plan's end when that
/// comes first. Read at every introspection, so a plan shortened after the
/// token was issued ends it even if a stored expiry were ever left behind.
pub fn effective_expiry(t: &access_token::Model, org: &organization::Model) -> DateTime<Utc> {
    match plan_end(org) {
        Some(end) if end < t.expires_at => end,
        _ => t.expires_at,
    }
}

/// Inside `setPlan`'s transaction: bring every live token's expiry down to
/// the plan's new end (nothing moves when the plan has no end). Returns the
/// number of tokens clamped.
pub async fn clamp_to_plan<C: ConnectionTrait>(
    tx: &C,
    org: &organization::Model,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    let Some(end) = plan_end(org) else {
        return Ok(0);
    };
    let moved = access_token::Entity::update_many()
        .col_expr(access_token::Column::ExpiresAt, Expr::value(end))
        .filter(access_token::Column::OrganizationId.eq(org.id))
        .filter(access_token::Column::RevokedAt.is_null())
        .filter(access_token::Column::ExpiresAt.gt(end))
        .filter(access_token::Column::ExpiresAt.gt(now))
        .exec(tx)
        .await?
        .rows_affected;
    Ok(moved)
}

fn check_scopes(scopes: Option<Vec<String>>) -> AppResult<Vec<String>> {
    let scopes = scopes.unwrap_or_default();
    if scopes.len() > MAX_SCOPES {
        return Err(AppError::bad_input(
            &["scopes"],
            format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    for (i, s) in scopes.iter().enumerate() {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || ":._-/".contains(c));
        if !ok {
            return Err(AppError::bad_input(
                &["scopes", &i.to_string()],
                "a scope is 1-64 chars of a-z, A-Z, 0-9 and : . _ - /",
            ));
        }
    }
    Ok(scopes)
}

pub struct IssueToken {
    pub account: Option<Uuid>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issue inside an open transaction whose organization row is locked.
/// Checks the seat and the expiry; does not count usage (callers do, after
/// commit). Returns the row and the secret, which exists nowhere else.
pub async fn issue_in<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org: &organization::Model,
    account_id: Uuid,
    name: Option<String>,
    scopes: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<(access_token::Model, String)> {
    let now = c.now();
    let has_seat = seat::Entity::find()
        .filter(seat::Column::OrganizationId.eq(org.id))
        .filter(seat::Column::AccountId.eq(account_id))
        .one(tx)
        .await?
        .is_some();
    if !has_seat {
        return Err(AppError::NoSeat);
    }
    let max = max_expiry(org, now);
    if max <= now {
        return Err(AppError::bad_input(
            &["expiresAt"],
            "the plan has ended; no token can be issued",
        ));
    }
    let expires_at = match expires_at {
        None => max,
        Some(t) if t <= now => {
            return Err(AppError::bad_input(
                &["expiresAt"],
                "expiresAt must be in the future",
            ))
        }
        Some(t) if t > max => {
            return Err(AppError::bad_input(
                &["expiresAt"],
                format!("expiresAt may be at most {}", max.to_rfc3339()),
            ))
        }
        Some(t) => t,
    };
    let secret = tokens::new_access_token();
    let model = access_token::Model {
        id: Uuid::now_v7(),
        organization_id: org.id,
        account_id,
        name,
        prefix: tokens::access_token_prefix(&secret),
        token_hash: tokens::sha256_hex(&secret),
        scopes: serde_json::to_string(&scopes).expect("strings serialize"),
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked_at: None,
        issued_by_account_id: c.principal.account_id(),
        issued_by_service_account_id: c.principal.service_account_id(),
    };
    access_token::Entity::insert(access_token::ActiveModel::from(model.clone()))
        .exec_without_returning(tx)
        .await?;
    audit::record(tx, now, audit::Event {
        organization_id: Some(org.id),
        action: "token.issue",
        actor: &c.principal,
        target_account_id: Some(account_id),
        data: json!({ "token": model.id, "prefix": model.prefix, "expiresAt": expires_at, "scopes": scopes }),
    })
    .await?;
    Ok((model, secret))
}

pub async fn issue_access_token(
    c: &Caller,
    org_id: Uuid,
    input: IssueToken,
) -> AppResult<(access_token::Model, String)> {
    c.require_signed_in()?;
    let name = validate::optional_name("name", input.name.as_deref())?;
    let scopes = check_scopes(input.scopes)?;
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(true)?;
    let me = c.principal.account_id();
    let target = match (input.account, me) {
        (Some(a), Some(m)) if a == m => m,
        (Some(a), _) => {
            st.require(st.admin())?;
            a
        }
        (None, Some(m)) => m,
        (None, None) => {
            return Err(AppError::bad_input(
                &["account"],
                "a service account must name the account",
            ))
        }
    };
    let is_member = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::AccountId.eq(target))
        .one(&*tx)
        .await?
        .is_some();
    if !is_member {
        return Err(AppError::NotFound);
    }
    let (model, secret) = issue_in(&*tx, c, &org, target, name, scopes, input.expires_at).await?;
    tx.commit().await?;
    c.services
        .usage
        .incr(org_id, UsageMetric::TokensIssued, 1, c.now());
    Ok((model, secret))
}

/// Members may see and revoke their own tokens; admins (and site admins,
/// service accounts) all of the organization's.
pub async fn revoke_access_token(c: &Caller, token_id: Uuid) -> AppResult<access_token::Model> {
    c.require_signed_in()?;
    let Some(found) = access_token::Entity::find_by_id(token_id)
        .one(&c.services.db.conn)
        .await?
    else {
        return Err(AppError::NotFound);
    };
    let tx = c.write_tx().await?;
    lock_org(&tx, found.organization_id).await?;
    let st = standing_in(&*tx, &c.principal, found.organization_id).await?;
    let own = c.principal.account_id() == Some(found.account_id);
    if !st.visible() || !(st.admin() || own) {
        return Err(AppError::NotFound);
    }
    let t = access_token::Entity::find_by_id(token_id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    if t.revoked_at.is_some() {
        return Ok(t);
    }
    let now = c.now();
    let mut am: access_token::ActiveModel = t.into();
    am.revoked_at = Set(Some(now));
    let t = am.update(&*tx).await?;
    record_revoke(&*tx, now, &c.principal, &t, json!({})).await?;
    tx.commit().await?;
    Ok(t)
}

/// The `token.revoke` audit event of one token, however it was revoked;
/// `why` adds how (`{"via": …}` or `{"reason": …}`) to its data.
pub async fn record_revoke<C: ConnectionTrait>(
    tx: &C,
    now: DateTime<Utc>,
    actor: &crate::auth::Principal,
    t: &access_token::Model,
    why: serde_json::Value,
) -> AppResult<()> {
    let mut data = json!({ "token": t.id, "prefix": t.prefix });
    if let (serde_json::Value::Object(d), serde_json::Value::Object(w)) = (&mut data, why) {
        d.extend(w);
    }
    audit::record(
        tx,
        now,
        audit::Event {
            organization_id: Some(t.organization_id),
            action: "token.revoke",
            actor,
            target_account_id: Some(t.account_id),
            data,
        },
    )
    .await
}

/// Move active tokens' expiry to the plan's end (one year ahead without one).
pub async fn sync_access_tokens(
    c: &Caller,
    org_id: Uuid,
    accounts: Option<Vec<Uuid>>,
) -> AppResult<u64> {
    c.require_signed_in()?;
    if let Some(a) = &accounts {
        validate::bulk_len("accounts", a.len())?;
    }
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.admin())?;
    let now = c.now();
    let target = max_expiry(&org, now);
    // One event per token whose expiry moves (before/after), none when nothing changes.
    let mut q = access_token::Entity::find()
        .filter(access_token::Column::OrganizationId.eq(org_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .filter(access_token::Column::ExpiresAt.gt(now))
        .filter(access_token::Column::ExpiresAt.ne(target));
    if let Some(a) = &accounts {
        q = q.filter(access_token::Column::AccountId.is_in(a.iter().copied()));
    }
    let moving = q.all(&*tx).await?;
    if moving.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let updated = access_token::Entity::update_many()
        .col_expr(access_token::Column::ExpiresAt, Expr::value(target))
        .filter(access_token::Column::Id.is_in(moving.iter().map(|t| t.id)))
        .exec(&*tx)
        .await?
        .rows_affected;
    for t in &moving {
        audit::record(
            &*tx,
            now,
            audit::Event {
                organization_id: Some(org_id),
                action: "token.sync",
                actor: &c.principal,
                target_account_id: Some(t.account_id),
                data: json!({ "token": t.id, "prefix": t.prefix,
                "expiresAt": { "before": t.expires_at, "after": target } }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(updated)
}
