//! Using an invitation token: look it up, accept it, decline it. Anonymous
//! callers may do all three (rules.md "Principals"). The token is
//! single-use: the status changes under the organization lock, so of N
//! concurrent accepts exactly one wins and the rest see INVITATION_NOT_PENDING.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::accounts::{self, NewAccount};
use super::invitations::InvitationStatus;
use super::{audit, validate, Caller, Role};
use crate::auth::{tokens, Principal};
use crate::db::lock_org;
use crate::entity::{account, invitation, membership};
use crate::error::{on_unique, AppError, AppResult};
use crate::usage::UsageMetric;

/// The invitation a token names, whatever its status; None when unknown.
pub async fn find_by_token(c: &Caller, token: &str) -> AppResult<Option<invitation::Model>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(tokens::sha256_hex(token)))
        .one(&c.state.db.conn)
        .await?)
}

fn usable(inv: &invitation::Model, c: &Caller) -> AppResult<()> {
    match InvitationStatus::of(inv, c.now()) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Expired => Err(AppError::InvitationExpired),
        _ => Err(AppError::InvitationNotPending),
    }
}

pub struct Accept {
    pub token: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
}

pub async fn accept(c: &Caller, input: Accept) -> AppResult<membership::Model> {
    let found = find_by_token(c, &input.token)
        .await?
        .ok_or(AppError::NotFound)?;
    usable(&found, c)?;
    // Signed out: validate and hash before taking any lock (argon2 is slow).
    let new_account = match &c.principal {
        Principal::Anonymous => {
            let password = input
                .password
                .as_deref()
                .ok_or_else(|| AppError::bad_input(&["password"], "a password is required"))?;
            validate::password("password", password)?;
            Some(NewAccount {
                email: Some(found.email.clone()),
                first_name: validate::optional_name("firstName", input.first_name.as_deref())?,
                last_name: validate::optional_name("lastName", input.last_name.as_deref())?,
                password_hash: Some(c.state.hasher.hash(password).await?),
            })
        }
        Principal::Person { .. } => None,
        Principal::Service { .. } => {
            return Err(AppError::Forbidden(
                "a service account cannot accept invitations",
            ))
        }
    };
    let now = c.now();
    let tx = c.state.db.write_tx().await?;
    lock_org(&tx, found.organization_id).await?;
    let inv = invitation::Entity::find_by_id(found.id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    usable(&inv, c)?;
    let (acc, created) = match new_account {
        Some(n) => (
            accounts::insert(&*tx, now, n).await.map_err(|e| match e {
                AppError::AlreadyExists(_) => AppError::AlreadyExists(
                    "an account with this email exists; sign in, then accept".into(),
                ),
                other => other,
            })?,
            true,
        ),
        None => {
            let id = c.principal.account_id().ok_or(AppError::Unauthenticated)?;
            let acc = account::Entity::find_by_id(id)
                .one(&*tx)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            if acc.email.as_deref() != Some(inv.email.as_str()) {
                return Err(AppError::Forbidden(
                    "this invitation was sent to another email address",
                ));
            }
            (acc, false)
        }
    };
    let role = Role::from_db(&inv.role);
    let m = membership::Model {
        id: uuid::Uuid::now_v7(),
        organization_id: inv.organization_id,
        account_id: acc.id,
        role: role.as_str().into(),
        created_at: now,
    };
    membership::Entity::insert(membership::ActiveModel::from(m.clone()))
        .exec_without_returning(&*tx)
        .await
        .map_err(|e| {
            on_unique(
                e,
                "ux_memberships_org_account",
                AppError::AlreadyExists("you are already a member".into()),
            )
        })?;
    let org_id = inv.organization_id;
    let inv_id = inv.id;
    let mut am: invitation::ActiveModel = inv.into();
    am.status = Set("ACCEPTED".into());
    am.responded_at = Set(Some(now));
    am.accepted_account_id = Set(Some(acc.id));
    am.update(&*tx).await?;
    // The accepter acts, also when they just created their account.
    let actor = match &c.principal {
        Principal::Anonymous => Principal::Person {
            account_id: acc.id,
            site_admin: false,
        },
        p => p.clone(),
    };
    let mut events = vec![
        ("invitation.accept", json!({ "invitation": inv_id })),
        (
            "member.add",
            json!({ "role": role.as_str(), "via": "invitation" }),
        ),
    ];
    if created {
        events.insert(0, ("account.create", json!({ "kind": acc.kind })));
    }
    for (action, data) in events {
        audit::record(
            &*tx,
            now,
            audit::Event {
                organization_id: Some(org_id),
                action,
                actor: &actor,
                target_account_id: Some(acc.id),
                data,
            },
        )
        .await?;
    }
    tx.commit().await?;
    c.state
        .usage
        .incr(org_id, UsageMetric::MembersJoined, 1, now);
    Ok(m)
}

pub async fn decline(c: &Caller, token: &str) -> AppResult<invitation::Model> {
    let found = find_by_token(c, token).await?.ok_or(AppError::NotFound)?;
    usable(&found, c)?;
    let now = c.now();
    let tx = c.state.db.write_tx().await?;
    lock_org(&tx, found.organization_id).await?;
    let inv = invitation::Entity::find_by_id(found.id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    usable(&inv, c)?;
    let mut am: invitation::ActiveModel = inv.into();
    am.status = Set("DECLINED".into());
    am.responded_at = Set(Some(now));
    let inv = am.update(&*tx).await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(inv.organization_id),
            action: "invitation.decline",
            actor: &c.principal,
            target_account_id: c.principal.account_id(),
            data: json!({ "invitation": inv.id, "email": inv.email }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(inv)
}
