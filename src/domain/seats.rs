//! Seats (invariant 2): never more in use than the plan's limit, whatever
//! the concurrency. Every change runs after the organization row is locked
//! (PostgreSQL FOR UPDATE; SQLite's single writer), so the count read inside
//! the transaction is the count at commit.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::authz::standing_in;
use super::organizations::seats_used;
use super::{audit, validate, Caller};
use crate::db::lock_org;
use crate::entity::{access_token, account, membership, organization, seat};
use crate::error::{AppError, AppResult};
use crate::events::{self, SeatChangeKind};

/// One account of a bulk call as the API read it: its id, or why it could
/// not be read (a malformed id: BAD_USER_INPUT at its index). Such items
/// count towards the batch size and answer their error in place.
pub type AccountItem = Result<Uuid, AppError>;

/// One item of a bulk seat operation: the account's seat, or an error.
pub type SeatOutcome = Result<Option<seat::Model>, AppError>;

pub struct SeatBatch {
    /// One per requested account, in the order they were given.
    pub outcomes: Vec<SeatOutcome>,
    pub org: organization::Model,
    pub used: i64,
}

async fn members_of<C: ConnectionTrait>(
    tx: &C,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashSet<Uuid>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::AccountId.is_in(ids.iter().copied()))
        .all(tx)
        .await?
        .into_iter()
        .map(|m| m.account_id)
        .collect())
}

async fn seats_of<C: ConnectionTrait>(
    tx: &C,
    org_id: Uuid,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, seat::Model>> {
    Ok(seat::Entity::find()
        .filter(seat::Column::OrganizationId.eq(org_id))
        .filter(seat::Column::AccountId.is_in(ids.iter().copied()))
        .all(tx)
        .await?
        .into_iter()
        .map(|s| (s.account_id, s))
        .collect())
}

/// Assign a seat inside an open transaction whose organization row is
/// locked. `used` is the count of seats in use, kept up to date.
/// Idempotent: a member who holds a seat gets it back, counted once.
pub async fn assign_in<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org: &organization::Model,
    account_id: Uuid,
    used: &mut i64,
) -> AppResult<(seat::Model, bool)> {
    let members = members_of(tx, org.id, &[account_id]).await?;
    let seats = seats_of(tx, org.id, &[account_id]).await?;
    assign_checked(tx, c, org, account_id, &members, &seats, used).await
}

/// The one rule for handing out a seat, given the members and seats read
/// under the organization's lock: members only; a member who holds a seat
/// keeps it (`false`: nothing new); else a new seat within the limit.
async fn assign_checked<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org: &organization::Model,
    account_id: Uuid,
    members: &HashSet<Uuid>,
    seats: &HashMap<Uuid, seat::Model>,
    used: &mut i64,
) -> AppResult<(seat::Model, bool)> {
    if !members.contains(&account_id) {
        return Err(AppError::NotAMember);
    }
    if let Some(s) = seats.get(&account_id) {
        return Ok((s.clone(), false));
    }
    insert_seat(tx, c, org, account_id, used)
        .await
        .map(|s| (s, true))
}

async fn insert_seat<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org: &organization::Model,
    account_id: Uuid,
    used: &mut i64,
) -> AppResult<seat::Model> {
    if *used >= org.seat_limit as i64 {
        return Err(AppError::SeatLimitReached);
    }
    let now = c.now();
    let s = seat::Model {
        id: Uuid::now_v7(),
        organization_id: org.id,
        account_id,
        assigned_at: now,
        assigned_by_account_id: c.principal.account_id(),
        assigned_by_service_account_id: c.principal.service_account_id(),
    };
    seat::Entity::insert(seat::ActiveModel::from(s.clone()))
        .exec_without_returning(tx)
        .await?;
    *used += 1;
    audit::record(
        tx,
        now,
        audit::Event {
            organization_id: Some(org.id),
            action: "seat.assign",
            actor: &c.principal,
            target_account_id: Some(account_id),
            data: json!({ "used": *used, "limit": org.seat_limit }),
        },
    )
    .await?;
    Ok(s)
}

/// Revoke a seat and the member's active tokens, inside a locked transaction.
/// Returns whether there was a seat.
pub async fn revoke_in<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org_id: Uuid,
    account_id: Uuid,
    reason: &str,
) -> AppResult<bool> {
    let now = c.now();
    let gone = seat::Entity::delete_many()
        .filter(seat::Column::OrganizationId.eq(org_id))
        .filter(seat::Column::AccountId.eq(account_id))
        .exec(tx)
        .await?
        .rows_affected
        > 0;
    if gone {
        audit::record(
            tx,
            now,
            audit::Event {
                organization_id: Some(org_id),
                action: "seat.revoke",
                actor: &c.principal,
                target_account_id: Some(account_id),
                data: json!({ "reason": reason }),
            },
        )
        .await?;
    }
    revoke_tokens_of(tx, c, org_id, account_id, reason).await?;
    Ok(gone)
}

/// Revoke every active token of a member, one audit event per token.
pub async fn revoke_tokens_of<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org_id: Uuid,
    account_id: Uuid,
    reason: &str,
) -> AppResult<()> {
    let now = c.now();
    let tokens = access_token::Entity::find()
        .filter(access_token::Column::OrganizationId.eq(org_id))
        .filter(access_token::Column::AccountId.eq(account_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .all(tx)
        .await?;
    if tokens.is_empty() {
        return Ok(());
    }
    access_token::Entity::update_many()
        .col_expr(
            access_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(access_token::Column::Id.is_in(tokens.iter().map(|t| t.id)))
        .exec(tx)
        .await?;
    for t in &tokens {
        super::tokens::record_revoke(tx, now, &c.principal, t, json!({ "reason": reason })).await?;
    }
    Ok(())
}

/// A "seat assigned" mail to each newly seated member who has an email,
/// written in the same transaction (one statement for the addresses).
async fn notify_seated(
    tx: &crate::db::WriteTx<'_>,
    c: &Caller,
    org: &organization::Model,
    accounts: &[Uuid],
) -> AppResult<()> {
    if accounts.is_empty() {
        return Ok(());
    }
    let people = account::Entity::find()
        .filter(account::Column::Id.is_in(accounts.iter().copied()))
        .filter(account::Column::Email.is_not_null())
        .all(&**tx)
        .await?;
    let url = c.services.config.public_url();
    for p in people {
        if let Some(to) = p.email.as_deref() {
            crate::mail::enqueue(
                &**tx,
                c.now(),
                crate::mail::templates::seat_assigned(to, &org.name, &url),
            )
            .await?;
        }
    }
    Ok(())
}

/// What both bulk seat operations start from, read under the lock.
struct Batch<'a> {
    tx: crate::db::WriteTx<'a>,
    org: organization::Model,
    parsed: Vec<AccountItem>,
    members: HashSet<Uuid>,
    seats: HashMap<Uuid, seat::Model>,
    used: i64,
}

/// Parse the ids, lock the organization, check ADMIN rights, and read the
/// members, their seats and the seats in use: four statements, whatever the
/// batch size.
async fn open_batch<'a>(
    c: &'a Caller,
    org_id: Uuid,
    accounts: Vec<AccountItem>,
) -> AppResult<Batch<'a>> {
    c.require_signed_in()?;
    validate::bulk_len("accounts", accounts.len())?;
    let parsed = accounts;
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.admin())?;
    let wanted: Vec<Uuid> = parsed
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let members = members_of(&*tx, org_id, &wanted).await?;
    let seats = seats_of(&*tx, org_id, &wanted).await?;
    let used = seats_used(&*tx, org_id).await?;
    Ok(Batch {
        tx,
        org,
        parsed,
        members,
        seats,
        used,
    })
}

pub async fn assign_seats(
    c: &Caller,
    org_id: Uuid,
    accounts: Vec<AccountItem>,
) -> AppResult<SeatBatch> {
    let Batch {
        tx,
        org,
        parsed,
        members,
        mut seats,
        mut used,
    } = open_batch(c, org_id, accounts).await?;
    let mut outcomes = Vec::with_capacity(parsed.len());
    let mut newly = Vec::new();
    for item in parsed {
        let result = match item {
            Err(e) => Err(e),
            Ok(acc) => {
                match assign_checked(&*tx, c, &org, acc, &members, &seats, &mut used).await {
                    Ok((s, true)) => {
                        tx.emit(events::seat(
                            SeatChangeKind::Assigned,
                            org_id,
                            org.seat_limit,
                            Some(acc),
                            used,
                            c.now(),
                        ));
                        newly.push(acc);
                        seats.insert(acc, s.clone());
                        Ok(Some(s))
                    }
                    Ok((s, false)) => Ok(Some(s)),
                    Err(e @ (AppError::NotAMember | AppError::SeatLimitReached)) => Err(e),
                    Err(e) => return Err(e),
                }
            }
        };
        outcomes.push(result);
    }
    notify_seated(&tx, c, &org, &newly).await?;
    tx.commit().await?;
    c.services.mail.wake();
    c.services.usage.seats_in_use(org_id, used, c.now());
    Ok(SeatBatch {
        outcomes,
        org,
        used,
    })
}

pub async fn revoke_seats(
    c: &Caller,
    org_id: Uuid,
    accounts: Vec<AccountItem>,
) -> AppResult<SeatBatch> {
    let Batch {
        tx,
        org,
        parsed,
        members,
        mut used,
        ..
    } = open_batch(c, org_id, accounts).await?;
    let mut outcomes = Vec::with_capacity(parsed.len());
    for item in parsed {
        let result = match item {
            Err(e) => Err(e),
            Ok(acc) if !members.contains(&acc) => Err(AppError::NotAMember),
            Ok(acc) => {
                if revoke_in(&*tx, c, org_id, acc, "seat.revoke").await? {
                    used -= 1;
                    tx.emit(events::seat(
                        SeatChangeKind::Revoked,
                        org_id,
                        org.seat_limit,
                        Some(acc),
                        used,
                        c.now(),
                    ));
                }
                Ok(None)
            }
        };
        outcomes.push(result);
    }
    tx.commit().await?;
    Ok(SeatBatch {
        outcomes,
        org,
        used,
    })
}
