//! Invitations (rules.md invariant 4): invite here, resend and revoke in
//! `invitation_changes`, accepting and declining in `invitation_accept`. Each call is one transaction with
//! the organization row locked, so "one pending invitation per
//! (organization, email)" holds under concurrency; every changed invitation
//! writes its audit event and its mail in that transaction.
//!
//! Stored statuses are PENDING, ACCEPTED, DECLINED and REVOKED; EXPIRED is
//! derived (PENDING and now > expires_at). An expired pending invitation is
//! superseded by re-inviting: the same row is sent again with a new token.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::authz::standing_in;
use super::{audit, validate, Caller, Role};
use crate::auth::tokens;
use crate::db::lock_org;
use crate::entity::enums::StoredInvitationStatus as Stored;
use crate::entity::{account, invitation, membership, organization};
use crate::error::{AppError, AppResult};
use crate::mail::{self, templates};
use crate::usage::UsageMetric;

pub use super::invitation_changes::{change, Change};

pub const LIFETIME: Duration = Duration::days(7);

/// An invitation's status as clients see it: the stored one, with EXPIRED
/// for a pending invitation past its `expires_at`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
    Expired,
}

impl InvitationStatus {
    pub fn of(inv: &invitation::Model, now: DateTime<Utc>) -> Self {
        match inv.status {
            Stored::Pending if now > inv.expires_at => InvitationStatus::Expired,
            Stored::Pending => InvitationStatus::Pending,
            Stored::Accepted => InvitationStatus::Accepted,
            Stored::Declined => InvitationStatus::Declined,
            Stored::Revoked => InvitationStatus::Revoked,
        }
    }
}

/// One requested invitation; `field` locates it in the input.
pub struct Invitee {
    pub email: String,
    pub role: Role,
    pub field: Vec<String>,
}

/// Per-item outcome of a bulk call: the email and the invitation or error.
pub struct Outcome {
    pub email: String,
    pub result: AppResult<invitation::Model>,
}

pub(super) fn item_err(field: &[String], e: AppError) -> AppError {
    match e {
        AppError::BadInput { message, field: f } if f.is_empty() => AppError::BadInput {
            message,
            field: field.to_vec(),
        },
        other => other,
    }
}

/// Send (or re-send) an invitation row: new token, seven more days, mail.
pub(super) async fn send<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org: &organization::Model,
    mut am: invitation::ActiveModel,
    is_new: bool,
    reminder: bool,
) -> AppResult<invitation::Model> {
    let now = c.now();
    let token = tokens::new_opaque_token();
    am.token_hash = Set(tokens::sha256_hex(&token));
    am.last_sent_at = Set(now);
    am.expires_at = Set(now + LIFETIME);
    am.status = Set(Stored::Pending);
    let inv = if is_new {
        am.insert(tx).await?
    } else {
        am.update(tx).await?
    };
    let public = c.services.config.public_url();
    mail::enqueue(
        tx,
        now,
        templates::invitation(templates::Invitation {
            to: &inv.email,
            org_name: &org.name,
            org_handle: &org.handle,
            role: inv.role.as_str(),
            link: &templates::accept_link(&public, &token),
            expires_at: inv.expires_at,
            reminder,
        }),
    )
    .await?;
    Ok(inv)
}

pub async fn invite(
    c: &Caller,
    org_id: Uuid,
    items: Vec<Result<Invitee, (String, AppError)>>,
) -> AppResult<Vec<Outcome>> {
    c.require_signed_in()?;
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.admin())?;
    // Normalise first, so the lookups below see what will be stored.
    let items: Vec<Result<Invitee, (String, AppError)>> = items
        .into_iter()
        .map(|r| {
            r.and_then(|mut i| {
                let mut f = i.field.clone();
                f.push("email".into());
                match validate::email("email", &i.email) {
                    Ok(e) => {
                        i.email = e;
                        Ok(i)
                    }
                    Err(_) => Err((
                        i.email.clone(),
                        AppError::BadInput {
                            message: "not a valid email address".into(),
                            field: f,
                        },
                    )),
                }
            })
        })
        .collect();
    let emails: Vec<String> = items
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|i| i.email.clone()))
        .collect();
    let members: HashSet<String> = account::Entity::find()
        .filter(account::Column::Email.is_in(emails.clone()))
        .find_also_related(membership::Entity)
        .all(&*tx)
        .await?
        .into_iter()
        .filter(|(_, m)| m.as_ref().is_some_and(|m| m.organization_id == org_id))
        .filter_map(|(a, _)| a.email)
        .collect();
    let mut pending: HashMap<String, invitation::Model> = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org_id))
        .filter(invitation::Column::Status.eq(Stored::Pending))
        .filter(invitation::Column::Email.is_in(emails))
        .all(&*tx)
        .await?
        .into_iter()
        .map(|i| (i.email.clone(), i))
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    let mut sent = 0i64;
    for item in items {
        let i = match item {
            Ok(i) => i,
            Err((email, e)) => {
                out.push(Outcome {
                    email,
                    result: Err(e),
                });
                continue;
            }
        };
        let exists = |m: &str| Err(item_err(&i.field, AppError::AlreadyExists(m.to_string())));
        let result = if !seen.insert(i.email.clone()) {
            exists("this email appears earlier in the same batch")
        } else if members.contains(&i.email) {
            exists("this email belongs to a member already")
        } else if let Err(e) = super::authz::may_grant(&c.principal, i.role) {
            Err(e)
        } else {
            match invite_one(&*tx, c, &org, &i.email, i.role, pending.remove(&i.email)).await {
                Ok(inv) => {
                    sent += 1;
                    Ok(inv)
                }
                Err(AppError::Internal(e)) => return Err(AppError::Internal(e)),
                Err(e) => Err(item_err(&i.field, e)),
            }
        };
        out.push(Outcome {
            email: i.email,
            result,
        });
    }
    tx.commit().await?;
    finish(c, org_id, sent);
    Ok(out)
}

/// The pending invitation of `email` to `org`, if any (live or expired).
pub async fn pending_for<C: ConnectionTrait>(
    tx: &C,
    org_id: Uuid,
    email: &str,
) -> AppResult<Option<invitation::Model>> {
    Ok(invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org_id))
        .filter(invitation::Column::Status.eq(Stored::Pending))
        .filter(invitation::Column::Email.eq(email))
        .one(tx)
        .await?)
}

/// Invite one normalised email inside the caller's transaction (the
/// organization row locked): a live pending invitation is ALREADY_EXISTS,
/// an expired one is sent again, else a new one is sent. Writes the mail
/// and the audit event. `pending` is `pending_for(email)`.
pub async fn invite_one<C: ConnectionTrait>(
    tx: &C,
    c: &Caller,
    org: &organization::Model,
    email: &str,
    role: Role,
    pending: Option<invitation::Model>,
) -> AppResult<invitation::Model> {
    let now = c.now();
    let (am, reused) = match pending {
        Some(p) if now <= p.expires_at => {
            return Err(AppError::AlreadyExists(
                "a pending invitation for this email exists".into(),
            ))
        }
        // Expired: superseded by sending the same row again.
        Some(p) => {
            let send_count = p.send_count + 1;
            let mut am: invitation::ActiveModel = p.into();
            am.role = Set(role);
            am.send_count = Set(send_count);
            am.invited_by_account_id = Set(c.principal.account_id());
            am.invited_by_service_account_id = Set(c.principal.service_account_id());
            (am, true)
        }
        None => (
            invitation::ActiveModel {
                id: Set(Uuid::now_v7()),
                organization_id: Set(org.id),
                email: Set(email.to_string()),
                role: Set(role),
                invited_by_account_id: Set(c.principal.account_id()),
                invited_by_service_account_id: Set(c.principal.service_account_id()),
                created_at: Set(now),
                send_count: Set(1),
                responded_at: Set(None),
                accepted_account_id: Set(None),
                ..Default::default()
            },
            false,
        ),
    };
    let inv = send(tx, c, org, am, !reused, false).await?;
    audit::record(
        tx,
        now,
        audit::Event {
            organization_id: Some(org.id),
            action: "invitation.create",
            actor: &c.principal,
            target_account_id: None,
            data: json!({ "invitation": inv.id, "email": inv.email, "role": inv.role.as_str(), "supersedesExpired": reused }),
        },
    )
    .await?;
    Ok(inv)
}

pub fn finish(c: &Caller, org_id: Uuid, sent: i64) {
    if sent > 0 {
        c.services.mail.wake();
        c.services
            .usage
            .incr(org_id, UsageMetric::InvitationsSent, sent, c.now());
    }
}
