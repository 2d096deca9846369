//! onboardUsers (the seeds' automated onboarding): for each user, create
//! the account if no account has that email, make it a member, assign a
//! seat and issue an access token; mail the user a welcome and, separately,
//! the token secret (never returned in the payload); mail the
//! organization's admins one "users added" notice for the batch.
//!
//! Nobody joins without consent (DESIGN, security principles): an existing
//! account that is not yet a member is sent an invitation instead — the
//! same invitation, mail and answer as `inviteMembers` gives — and joins
//! (then gets a seat like anyone) only by accepting it. An existing member
//! gets the seat and token.
//!
//! One transaction with the organization locked; each user runs inside a
//! savepoint, so an item that fails (SEAT_LIMIT_REACHED, a bad email)
//! leaves nothing behind for that user — no account, membership, mail or
//! audit event — while the other items go through.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::accounts::{self, NewAccount};
use super::authz::standing_in;
use super::members::find_membership;
use super::organizations::seats_used;
use super::{audit, invitations, seats, tokens, validate, Caller, Role};
use crate::db::lock_org;
use crate::entity::{access_token, account, invitation, membership, organization};
use crate::error::{AppError, AppResult};
use crate::events::{self, SeatChangeKind};
use crate::mail::{self, templates};
use crate::usage::UsageMetric;

pub struct OnboardUser {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

pub enum Onboarded {
    /// Created or already a member: seated, with a token.
    Member {
        membership: membership::Model,
        token: access_token::Model,
        seat_added: bool,
        joined: bool,
    },
    /// An existing account that is not a member: invited instead.
    Invited(invitation::Model),
}

pub struct OnboardOutcome {
    pub email: String,
    pub result: AppResult<Onboarded>,
}

pub async fn onboard(
    c: &Caller,
    org_id: Uuid,
    users: Vec<OnboardUser>,
) -> AppResult<Vec<OnboardOutcome>> {
    c.require_signed_in()?;
    validate::bulk_len("users", users.len())?;
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.admin())?;
    let mut used = seats_used(&*tx, org_id).await?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(users.len());
    for (i, u) in users.into_iter().enumerate() {
        let field = |f: &str| vec!["users".to_string(), i.to_string(), f.to_string()];
        let email = match validate::email("email", &u.email) {
            Ok(e) => e,
            Err(_) => {
                out.push(OnboardOutcome {
                    email: u.email,
                    result: Err(AppError::BadInput {
                        message: "not a valid email address".into(),
                        field: field("email"),
                    }),
                });
                continue;
            }
        };
        if !seen.insert(email.clone()) {
            out.push(OnboardOutcome {
                email,
                result: Err(AppError::AlreadyExists(
                    "this email appears earlier in the same batch".into(),
                )),
            });
            continue;
        }
        let sp = (*tx).begin().await?;
        let before = used;
        let result = one(&sp, c, &org, &email, &u, &mut used).await;
        let result = match result {
            Ok(done) => {
                sp.commit().await?;
                if let Onboarded::Member {
                    membership,
                    seat_added: true,
                    ..
                } = &done
                {
                    tx.emit(events::seat(
                        SeatChangeKind::Assigned,
                        org_id,
                        org.seat_limit,
                        Some(membership.account_id),
                        used,
                        c.now(),
                    ));
                }
                Ok(done)
            }
            Err(e) => {
                sp.rollback().await?;
                used = before;
                match e {
                    AppError::Internal(e) => return Err(AppError::Internal(e)),
                    AppError::BadInput { message, field: f } => Err(AppError::BadInput {
                        message,
                        field: [vec!["users".to_string(), i.to_string()], f].concat(),
                    }),
                    other => Err(other),
                }
            }
        };
        out.push(OnboardOutcome { email, result });
    }
    let added: Vec<String> = out
        .iter()
        .filter(|o| matches!(o.result, Ok(Onboarded::Member { .. })))
        .map(|o| o.email.clone())
        .collect();
    let invited = out
        .iter()
        .filter(|o| matches!(o.result, Ok(Onboarded::Invited(_))))
        .count() as i64;
    let now = c.now();
    if !added.is_empty() {
        let admins = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(org_id))
            .filter(membership::Column::Role.eq(Role::Admin))
            .find_also_related(account::Entity)
            .all(&*tx)
            .await?;
        for email in admins
            .iter()
            .filter_map(|(_, a)| a.as_ref()?.email.as_deref())
        {
            mail::enqueue(
                &*tx,
                now,
                templates::members_added(email, &org.name, &added),
            )
            .await?;
        }
    }
    tx.commit().await?;
    let joined = out
        .iter()
        .filter(|o| matches!(o.result, Ok(Onboarded::Member { joined: true, .. })))
        .count() as i64;
    super::invitations::finish(c, org_id, invited);
    let usage = &c.services.usage;
    if !added.is_empty() {
        usage.incr(org_id, UsageMetric::TokensIssued, added.len() as i64, now);
        usage.seats_in_use(org_id, used, now);
        c.services.mail.wake();
    }
    if joined > 0 {
        usage.incr(org_id, UsageMetric::MembersJoined, joined, now);
    }
    Ok(out)
}

async fn one(
    sp: &sea_orm::DatabaseTransaction,
    c: &Caller,
    org: &organization::Model,
    email: &str,
    u: &OnboardUser,
    used: &mut i64,
) -> AppResult<Onboarded> {
    let now = c.now();
    let event = |action: &'static str, target: Uuid, data: serde_json::Value| audit::Event {
        organization_id: Some(org.id),
        action,
        actor: &c.principal,
        target_account_id: Some(target),
        data,
    };
    let existing = account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(sp)
        .await?;
    let acc = match existing {
        Some(a) => {
            if find_membership(sp, org.id, a.id).await?.is_none() {
                let pending = invitations::pending_for(sp, org.id, email).await?;
                let inv = invitations::invite_one(sp, c, org, email, Role::Member, pending).await?;
                return Ok(Onboarded::Invited(inv));
            }
            a
        }
        None => {
            let a = accounts::insert(
                sp,
                now,
                NewAccount {
                    email: Some(email.to_string()),
                    first_name: validate::optional_name("firstName", u.first_name.as_deref())?,
                    last_name: validate::optional_name("lastName", u.last_name.as_deref())?,
                    password_hash: None,
                    by_owner: false,
                },
            )
            .await?;
            audit::record(
                sp,
                now,
                event(
                    "account.create",
                    a.id,
                    json!({ "kind": a.kind.as_str(), "via": "onboarding" }),
                ),
            )
            .await?;
            a
        }
    };
    let (m, joined) = match find_membership(sp, org.id, acc.id).await? {
        Some(m) => (m, false),
        None => {
            let m = membership::Model {
                id: Uuid::now_v7(),
                organization_id: org.id,
                account_id: acc.id,
                role: Role::Member,
                created_at: now,
            };
            membership::Entity::insert(membership::ActiveModel::from(m.clone()))
                .exec_without_returning(sp)
                .await?;
            audit::record(
                sp,
                now,
                event(
                    "member.add",
                    acc.id,
                    json!({ "role": Role::Member.as_str(), "via": "onboarding" }),
                ),
            )
            .await?;
            (m, true)
        }
    };
    let (_, seat_added) = seats::assign_in(sp, c, org, acc.id, used).await?;
    let (token, secret) = tokens::issue_in(
        sp,
        c,
        org,
        acc.id,
        Some("onboarding".into()),
        Vec::new(),
        None,
    )
    .await?;
    let public = c.services.config.public_url();
    mail::enqueue(sp, now, templates::welcome(email, &org.name, &public)).await?;
    mail::enqueue(
        sp,
        now,
        templates::access_token(email, &org.name, &secret, token.expires_at),
    )
    .await?;
    Ok(Onboarded::Member {
        membership: m,
        token,
        seat_added,
        joined,
    })
}
