//! Using an invitation token: look it up, accept it, decline it. Anonymous
//! callers may do all three (rules.md "Principals"). The token is
//! single-use: the status changes under the organization lock, so of N
//! concurrent accepts exactly one wins and the rest see INVITATION_NOT_PENDING.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use super::accounts::{self, NewAccount};
use super::invitations::InvitationStatus;
use super::{audit, validate, Caller};
use crate::auth::{tokens, Principal};
use crate::db::lock_org;
use crate::entity::enums::StoredInvitationStatus;
use crate::entity::{account, invitation, membership};
use crate::error::{on_unique, AppError, AppResult, UniqueIndex};
use crate::usage::UsageMetric;

/// The invitation a token names, whatever its status; None when unknown.
pub async fn find_by_token(c: &Caller, token: &str) -> AppResult<Option<invitation::Model>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(tokens::sha256_hex(token)))
        .one(&c.services.db.conn)
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
                password_hash: Some(c.services.hasher.hash(password).await?),
                by_owner: true,
            })
        }
        // A sign-in link's session acts in one organization for its
        // minter: joining another is the person's own act, not theirs.
        Principal::Person { scope: Some(_), .. } => {
            return Err(AppError::Forbidden(
                "a sign-in link's session cannot accept invitations",
            ))
        }
        Principal::Person { .. } => None,
        Principal::Service { .. } => {
            return Err(AppError::Forbidden(
                "a service account cannot accept invitations",
            ))
        }
    };
    let now = c.now();
    let tx = c.write_tx().await?;
    lock_org(&tx, found.organization_id).await?;
    let inv = invitation::Entity::find_by_id(found.id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    usable(&inv, c)?;
    let (acc, created) = match new_account {
        Some(n) => {
            let existing = account::Entity::find()
                .filter(account::Column::Email.eq(inv.email.as_str()))
                .one(&*tx)
                .await?;
            match existing {
                None => (accounts::insert(&*tx, now, n).await?, true),
                // Provisioned for this address by some organization's admin
                // and never taken by its owner: the mailed token proves the
                // owner, who claims it with their own password.
                Some(a) if a.claimed_at.is_none() => {
                    (claim(&tx, a, n, inv.organization_id, now).await?, false)
                }
                Some(_) => {
                    return Err(AppError::AlreadyExists(
                        "an account with this email exists; sign in, then accept".into(),
                    ))
                }
            }
        }
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
    let role = inv.role;
    let m = membership::Model {
        id: uuid::Uuid::now_v7(),
        organization_id: inv.organization_id,
        account_id: acc.id,
        role,
        created_at: now,
    };
    membership::Entity::insert(membership::ActiveModel::from(m.clone()))
        .exec_without_returning(&*tx)
        .await
        .map_err(|e| {
            on_unique(
                e,
                UniqueIndex::MembershipsOrgAccount,
                AppError::AlreadyExists("you are already a member".into()),
            )
        })?;
    let org_id = inv.organization_id;
    let inv_id = inv.id;
    let mut am: invitation::ActiveModel = inv.into();
    am.status = Set(StoredInvitationStatus::Accepted);
    am.responded_at = Set(Some(now));
    am.accepted_account_id = Set(Some(acc.id));
    am.update(&*tx).await?;
    // The accepter acts, also when they just created their account.
    let actor = match &c.principal {
        Principal::Anonymous => Principal::person(acc.id, false),
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
        events.insert(0, ("account.create", json!({ "kind": acc.kind.as_str() })));
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
    c.services
        .usage
        .incr(org_id, UsageMetric::MembersJoined, 1, now);
    Ok(m)
}

/// The owner of an address takes the account provisioned for it: their
/// password replaces any set by the provisioner, names they give replace
/// theirs, every session issued before ends (`session_epoch`), and what was
/// made in the account's name before — by whoever held it, since its owner
/// could not sign in — stops working (`accounts::end_provisioned_access`).
async fn claim(
    tx: &crate::db::WriteTx<'_>,
    acc: account::Model,
    n: NewAccount,
    org_id: uuid::Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<account::Model> {
    let (id, acc_epoch) = (acc.id, acc.session_epoch);
    let mut am: account::ActiveModel = acc.into();
    am.password_hash = Set(n.password_hash);
    if n.first_name.is_some() {
        am.first_name = Set(n.first_name);
    }
    if n.last_name.is_some() {
        am.last_name = Set(n.last_name);
    }
    am.claimed_at = Set(Some(now));
    am.session_epoch = Set(acc_epoch + 1);
    am.updated_at = Set(now);
    let acc = am.update(&**tx).await?;
    accounts::end_provisioned_access(tx, id, now).await?;
    audit::record(
        &**tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "account.claim",
            actor: &Principal::person(id, false),
            target_account_id: Some(id),
            data: json!({ "via": "invitation" }),
        },
    )
    .await?;
    Ok(acc)
}

pub async fn decline(c: &Caller, token: &str) -> AppResult<invitation::Model> {
    let found = find_by_token(c, token).await?.ok_or(AppError::NotFound)?;
    usable(&found, c)?;
    let now = c.now();
    let tx = c.write_tx().await?;
    lock_org(&tx, found.organization_id).await?;
    let inv = invitation::Entity::find_by_id(found.id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    usable(&inv, c)?;
    let mut am: invitation::ActiveModel = inv.into();
    am.status = Set(StoredInvitationStatus::Declined);
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
