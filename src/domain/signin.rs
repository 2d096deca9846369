//! Temporary sign-in links (CoCalc's "sign-in URL"): an admin's
//! impersonation session for one member, in one organization.
//!
//! Rules (README, Permissions; security review of issue 14):
//! * a link names one organization; its session acts there only and is a
//!   stranger (NOT_FOUND) everywhere else, never a site admin;
//! * the minter is that organization's ADMIN (or a site admin) and the
//!   target a member below ADMIN — checked at minting, at redemption and on
//!   every request of the session (`authn::link_holds`); never for
//!   a site admin, nor for an account that is ADMIN of an organization where
//!   the minter is not ADMIN;
//! * the organization's admins list its links and expire any by id;
//!   removing the minter or the target (or making the target ADMIN, or
//!   demoting the minter) expires their links in the same transaction;
//! * minting, redeeming and expiring write audit events.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::authn::link_holds;
use super::authz::standing_in;
use super::{audit, Caller, Role};
use crate::auth::jwt::Impersonation;
use crate::auth::{tokens, Principal};
use crate::db::WriteTx;
use crate::domain::Services;
use crate::entity::{account, membership, sign_in_token};
use crate::error::{AppError, AppResult};
use crate::events::Event;

pub const MIN_LIFETIME: i64 = 60;
pub const MAX_LIFETIME: i64 = 7 * 24 * 3600;

/// The minter as a person (not a service account, not a scoped session).
fn minter(c: &Caller) -> AppResult<(Uuid, bool)> {
    match &c.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated),
        Principal::Service { .. } => Err(AppError::Forbidden(
            "service accounts cannot create sign-in tokens",
        )),
        Principal::Person { scope: Some(_), .. } => Err(AppError::Forbidden(
            "a sign-in link's session cannot create sign-in tokens",
        )),
        Principal::Person {
            account_id,
            site_admin,
            ..
        } => Ok((*account_id, *site_admin)),
    }
}

/// The organization a new link for `target` is scoped to: the one asked
/// for, else the first (oldest membership) where the target is below ADMIN
/// and the caller may mint.
async fn authorize<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    target: Uuid,
    asked: Option<Uuid>,
) -> AppResult<Uuid> {
    let (me, site_admin) = minter(c)?;
    let acc = account::Entity::find_by_id(target)
        .one(tx)
        .await?
        .ok_or(AppError::NotFound)?;
    let theirs = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(target))
        .all(tx)
        .await?;
    let mine = membership::Entity::find()
        .filter(membership::Column::AccountId.eq(me))
        .all(tx)
        .await?;
    let my_role = |org: Uuid| {
        mine.iter()
            .find(|m| m.organization_id == org)
            .map(|m| m.role)
    };
    let shared = theirs.iter().any(|m| my_role(m.organization_id).is_some());
    if !site_admin && !shared {
        return Err(AppError::NotFound);
    }
    if let Some(org) = asked {
        let st = standing_in(tx, &c.principal, org).await?;
        st.require(st.person_admin())?;
    }
    let escalation = acc.is_site_admin
        || (!site_admin
            && theirs
                .iter()
                .any(|m| m.role == Role::Admin && my_role(m.organization_id) != Some(Role::Admin)));
    let may_mint_in = |m: &&membership::Model| {
        m.role != Role::Admin
            && asked.is_none_or(|o| o == m.organization_id)
            && (site_admin || my_role(m.organization_id) == Some(Role::Admin))
    };
    match theirs.iter().find(may_mint_in) {
        Some(m) if !escalation && target != me => Ok(m.organization_id),
        None if asked.is_some() && !theirs.iter().any(|m| Some(m.organization_id) == asked) => {
            Err(AppError::NotFound)
        }
        _ => Err(AppError::Forbidden(
            "you may not create sign-in tokens for this account",
        )),
    }
}

pub struct Minted {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub organization_id: Uuid,
}

pub async fn create(
    c: &Caller,
    target: Uuid,
    organization: Option<Uuid>,
    lifetime_seconds: i32,
) -> AppResult<Minted> {
    let lifetime = lifetime_seconds as i64;
    if !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime) {
        return Err(AppError::bad_input(
            &["expiresInSeconds"],
            "expiresInSeconds must be 60 to 604800 (7 days)",
        ));
    }
    minter(c)?;
    let now = c.now();
    let token = tokens::new_opaque_token();
    let expires_at = now + Duration::seconds(lifetime);
    let tx = c.write_tx().await?;
    // The organization row is locked before the rules are read, so a
    // concurrent removal or role change (which expires links under the same
    // lock) is either seen here or sees this link (red-team finding: links
    // minted during a removal revived on re-adding, PostgreSQL).
    let org = match organization {
        Some(org) => org,
        None => authorize(&*tx, c, target, None).await?,
    };
    crate::db::lock_org(&tx, org).await?;
    let org = authorize(&*tx, c, target, Some(org)).await?;
    let id = Uuid::now_v7();
    sign_in_token::Entity::insert(sign_in_token::ActiveModel {
        id: Set(id),
        account_id: Set(target),
        token_hash: Set(tokens::sha256_hex(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        expired_at: Set(None),
        created_by_account_id: Set(c.principal.account_id()),
        organization_id: Set(Some(org)),
        last_used_at: Set(None),
    })
    .exec_without_returning(&*tx)
    .await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org),
            action: "signin_token.create",
            actor: &c.principal,
            target_account_id: Some(target),
            data: json!({ "signInToken": id, "expiresAt": expires_at }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Minted {
        id,
        token,
        expires_at,
        organization_id: org,
    })
}

async fn find(services: &Services, token: &str) -> AppResult<Option<sign_in_token::Model>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(sign_in_token::Entity::find()
        .filter(sign_in_token::Column::TokenHash.eq(tokens::sha256_hex(token)))
        .one(&services.db.conn)
        .await?)
}

/// Which link `expireSignInToken` names.
pub enum LinkRef {
    Secret(String),
    Id(Uuid),
}

/// Returns whether the link was live until now. The organization's admins
/// (and site admins) may expire any of its links.
pub async fn expire(c: &Caller, which: LinkRef) -> AppResult<bool> {
    c.require_signed_in()?;
    let found = match which {
        LinkRef::Secret(t) => find(&c.services, &t).await?,
        LinkRef::Id(id) => {
            sign_in_token::Entity::find_by_id(id)
                .one(&c.services.db.conn)
                .await?
        }
    };
    let t = found.ok_or(AppError::NotFound)?;
    let Some(org) = t.organization_id else {
        // A link from before scoping: already expired by the migration.
        return Err(AppError::NotFound);
    };
    let tx = c.write_tx().await?;
    crate::db::lock_org(&tx, org).await?;
    let st = standing_in(&*tx, &c.principal, org).await?;
    st.require(st.person_admin())?;
    let now = c.now();
    let rows = sign_in_token::Entity::update_many()
        .col_expr(sign_in_token::Column::ExpiredAt, Expr::value(now))
        .filter(sign_in_token::Column::Id.eq(t.id))
        .filter(sign_in_token::Column::ExpiredAt.is_null())
        .filter(sign_in_token::Column::ExpiresAt.gt(now))
        .exec(&*tx)
        .await?
        .rows_affected;
    if rows == 0 {
        return Ok(false);
    }
    ended(&tx, org, t.account_id);
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org),
            action: "signin_token.expire",
            actor: &c.principal,
            target_account_id: Some(t.account_id),
            data: json!({ "signInToken": t.id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Subscriptions of the link's sessions re-check their rights on this.
fn ended(tx: &WriteTx<'_>, org: Uuid, target: Uuid) {
    tx.emit(Event::AccessChanged {
        organization_id: org,
        account_id: Some(target),
        service_account_id: None,
    });
}

/// Expire, inside the caller's transaction, the live links of `org` (every
/// organization for None) that `account` minted or is the target of (they
/// lost the standing the link needs). Each expired link gets its audit event.
pub async fn expire_links_of(
    tx: &WriteTx<'_>,
    actor: &Principal,
    org: impl Into<Option<Uuid>>,
    account: Uuid,
    why: &'static str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut live = sign_in_token::Entity::find();
    if let Some(org) = org.into() {
        live = live.filter(sign_in_token::Column::OrganizationId.eq(org));
    }
    let live = live
        .filter(sign_in_token::Column::ExpiredAt.is_null())
        .filter(sign_in_token::Column::ExpiresAt.gt(now))
        .filter(
            Condition::any()
                .add(sign_in_token::Column::AccountId.eq(account))
                .add(sign_in_token::Column::CreatedByAccountId.eq(account)),
        )
        .all(&**tx)
        .await?;
    if live.is_empty() {
        return Ok(());
    }
    sign_in_token::Entity::update_many()
        .col_expr(sign_in_token::Column::ExpiredAt, Expr::value(now))
        .filter(sign_in_token::Column::Id.is_in(live.iter().map(|l| l.id)))
        .exec(&**tx)
        .await?;
    for l in live {
        let Some(org) = l.organization_id else {
            continue;
        };
        ended(tx, org, l.account_id);
        audit::record(
            &**tx,
            now,
            audit::Event {
                organization_id: Some(org),
                action: "signin_token.expire",
                actor,
                target_account_id: Some(l.account_id),
                data: json!({ "signInToken": l.id, "reason": why }),
            },
        )
        .await?;
    }
    Ok(())
}

/// `GET /signin/{token}`: the session a live link yields, after the rules
/// that allowed it are checked again. None: invalid, expired or no longer
/// allowed (all answer the same).
pub async fn redeem(services: &Services, token: &str) -> AppResult<Option<(Uuid, Impersonation)>> {
    let now = services.clock.now();
    let Some(link) = find(services, token).await? else {
        return Ok(None);
    };
    let (Some(org), Some(by)) = (link.organization_id, link.created_by_account_id) else {
        return Ok(None);
    };
    if !link_holds(services, &link, now).await? {
        return Ok(None);
    }
    let tx = services.db.write_tx().await?;
    sign_in_token::Entity::update_many()
        .col_expr(sign_in_token::Column::LastUsedAt, Expr::value(now))
        .filter(sign_in_token::Column::Id.eq(link.id))
        .exec(&*tx)
        .await?;
    let minter = Principal::person(by, false);
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org),
            action: "signin_token.redeem",
            actor: &minter,
            target_account_id: Some(link.account_id),
            data: json!({ "signInToken": link.id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some((
        link.account_id,
        Impersonation {
            organization_id: org,
            actor_account_id: by,
            link_id: link.id,
        },
    )))
}
