//! Members: create users, add, change roles, remove, leave. Every rule that
//! spans rows (last admin) is checked after the organization row is locked.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::accounts::{self, NewAccount};
use super::authz::{standing_in, Standing};
use super::{audit, validate, Caller, Role};
use crate::auth::Principal;
use crate::db::{lock_org, WriteTx};
use crate::entity::{account, membership, organization};
use crate::error::{on_unique, AppError, AppResult, UniqueIndex};
use crate::events::{self, Event, SeatChangeKind};

async fn locked<'a>(
    c: &'a Caller,
    org_id: Uuid,
    allowed: impl Fn(Standing) -> bool,
) -> AppResult<(WriteTx<'a>, Standing)> {
    c.require_signed_in()?;
    let tx = c.write_tx().await?;
    lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(allowed(st))?;
    Ok((tx, st))
}

pub async fn find_membership<C: ConnectionTrait>(
    tx: &C,
    org_id: Uuid,
    account_id: Uuid,
) -> AppResult<Option<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::AccountId.eq(account_id))
        .one(tx)
        .await?)
}

async fn insert_membership<C: ConnectionTrait>(
    tx: &C,
    org_id: Uuid,
    account_id: Uuid,
    role: Role,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<membership::Model> {
    let m = membership::Model {
        id: Uuid::now_v7(),
        organization_id: org_id,
        account_id,
        role,
        created_at: now,
    };
    membership::Entity::insert(membership::ActiveModel::from(m.clone()))
        .exec_without_returning(tx)
        .await
        .map_err(|e| {
            on_unique(
                e,
                UniqueIndex::MembershipsOrgAccount,
                AppError::AlreadyExists("the account is already a member".into()),
            )
        })?;
    Ok(m)
}

pub struct CreateUser {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
    pub role: Role,
}

pub async fn create_user(
    c: &Caller,
    org_id: Uuid,
    input: CreateUser,
) -> AppResult<(account::Model, membership::Model)> {
    let email = validate::optional_email("email", input.email.as_deref())?;
    let first_name = validate::optional_name("firstName", input.first_name.as_deref())?;
    let last_name = validate::optional_name("lastName", input.last_name.as_deref())?;
    let password_hash = match &input.password {
        Some(p) => {
            if email.is_none() {
                return Err(AppError::bad_input(
                    &["password"],
                    "a MANAGED account (no email) cannot have a password",
                ));
            }
            validate::password("password", p)?;
            Some(c.services.hasher.hash(p).await?)
        }
        None => None,
    };
    let now = c.now();
    let (tx, _) = locked(c, org_id, Standing::admin).await?;
    super::authz::may_grant(&c.principal, input.role)?;
    if let Some(e) = &email {
        let existing = account::Entity::find()
            .filter(account::Column::Email.eq(e.as_str()))
            .one(&*tx)
            .await?;
        if let Some(a) = existing {
            return invite_existing(tx, c, org_id, &a, e, input.role).await;
        }
    }
    let acc = accounts::insert(
        &*tx,
        now,
        NewAccount {
            email,
            first_name,
            last_name,
            password_hash,
            by_owner: false,
        },
    )
    .await?;
    let m = insert_membership(&*tx, org_id, acc.id, input.role, now).await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "account.create",
            actor: &c.principal,
            target_account_id: Some(acc.id),
            data: json!({ "kind": acc.kind.as_str() }),
        },
    )
    .await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "member.add",
            actor: &c.principal,
            target_account_id: Some(acc.id),
            data: json!({ "role": input.role.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    joined(c, org_id, now);
    Ok((acc, m))
}

/// `createUser` with the email of an existing account: nobody joins
/// without consent, so the account is sent an invitation (as
/// `inviteMembers` would) and the call answers ALREADY_EXISTS saying so.
/// The invitation is committed; the account, its names and password are
/// left as they are.
async fn invite_existing(
    tx: WriteTx<'_>,
    c: &Caller,
    org_id: Uuid,
    existing: &account::Model,
    email: &str,
    role: Role,
) -> AppResult<(account::Model, membership::Model)> {
    if find_membership(&*tx, org_id, existing.id).await?.is_some() {
        return Err(AppError::AlreadyExists(
            "this email belongs to a member already".into(),
        ));
    }
    let org = organization::Entity::find_by_id(org_id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    let pending = super::invitations::pending_for(&*tx, org_id, email).await?;
    super::invitations::invite_one(&*tx, c, &org, email, role, pending).await?;
    tx.commit().await?;
    super::invitations::finish(c, org_id, 1);
    Err(AppError::AlreadyExists(
        "an account with this email exists: it was sent an invitation to join instead".into(),
    ))
}

/// Site admins only: an existing account (by id or email) joins.
pub async fn add_member(
    c: &Caller,
    org_id: Uuid,
    account: AccountRef,
    role: Role,
) -> AppResult<membership::Model> {
    let now = c.now();
    let (tx, _) = locked(c, org_id, Standing::is_site_admin).await?;
    let acc = match account {
        AccountRef::Id(id) => account::Entity::find_by_id(id).one(&*tx).await?,
        AccountRef::Email(e) => {
            account::Entity::find()
                .filter(account::Column::Email.eq(e))
                .one(&*tx)
                .await?
        }
    }
    .ok_or(AppError::NotFound)?;
    let m = insert_membership(&*tx, org_id, acc.id, role, now).await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "member.add",
            actor: &c.principal,
            target_account_id: Some(acc.id),
            data: json!({ "role": role.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    joined(c, org_id, now);
    Ok(m)
}

/// MEMBERS_JOINED, counted in memory after the commit (never a write on the request path).
pub fn joined(c: &Caller, org_id: Uuid, at: chrono::DateTime<chrono::Utc>) {
    c.services
        .usage
        .incr(org_id, crate::usage::UsageMetric::MembersJoined, 1, at);
}

pub enum AccountRef {
    Id(Uuid),
    Email(String),
}

async fn admin_count<C: ConnectionTrait>(tx: &C, org_id: Uuid) -> AppResult<u64> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::Role.eq(Role::Admin))
        .count(tx)
        .await?)
}

pub async fn update_role(
    c: &Caller,
    org_id: Uuid,
    account_id: Uuid,
    role: Role,
) -> AppResult<membership::Model> {
    let now = c.now();
    let (tx, _) = locked(c, org_id, Standing::admin).await?;
    let m = find_membership(&*tx, org_id, account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if c.principal.account_id() == Some(account_id) {
        return Err(AppError::CannotChangeOwnRole);
    }
    super::authz::may_grant(&c.principal, role)?;
    let before = m.role;
    if before == Role::Admin && role != Role::Admin && admin_count(&*tx, org_id).await? <= 1 {
        return Err(AppError::LastAdmin);
    }
    let mut am: membership::ActiveModel = m.into();
    am.role = Set(role);
    let after = am.update(&*tx).await?;
    // A link's target must stay below ADMIN and its minter ADMIN.
    if (before == Role::Admin) != (role == Role::Admin) {
        super::signin::expire_links_of(
            &tx,
            &c.principal,
            org_id,
            account_id,
            "member.role_update",
            now,
        )
        .await?;
    }
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "member.role_update",
            actor: &c.principal,
            target_account_id: Some(account_id),
            data: json!({ "role": { "before": before.as_str(), "after": role.as_str() } }),
        },
    )
    .await?;
    tx.emit(Event::AccessChanged {
        organization_id: org_id,
        account_id: Some(account_id),
        service_account_id: None,
    });
    tx.commit().await?;
    Ok(after)
}

/// Delete the membership, its seat and the member's active tokens, writing
/// one audit event per changed object; the seat change and the loss of
/// access are published if the transaction commits.
async fn drop_member(
    tx: &WriteTx<'_>,
    c: &Caller,
    org: &organization::Model,
    m: &membership::Model,
    action: &'static str,
) -> AppResult<()> {
    let seat_gone =
        super::seats::revoke_in(&**tx, c, m.organization_id, m.account_id, action).await?;
    super::signin::expire_links_of(
        tx,
        &c.principal,
        m.organization_id,
        m.account_id,
        action,
        c.now(),
    )
    .await?;
    membership::Entity::delete_by_id(m.id).exec(&**tx).await?;
    audit::record(
        &**tx,
        c.now(),
        audit::Event {
            organization_id: Some(m.organization_id),
            action,
            actor: &c.principal,
            target_account_id: Some(m.account_id),
            data: json!({ "role": m.role.as_str() }),
        },
    )
    .await?;
    if seat_gone {
        let used = super::organizations::seats_used(&**tx, org.id).await?;
        tx.emit(events::seat(
            SeatChangeKind::Revoked,
            org.id,
            org.seat_limit,
            Some(m.account_id),
            used,
            c.now(),
        ));
    }
    tx.emit(Event::AccessChanged {
        organization_id: org.id,
        account_id: Some(m.account_id),
        service_account_id: None,
    });
    Ok(())
}

pub async fn remove_member(c: &Caller, org_id: Uuid, account_id: Uuid) -> AppResult<()> {
    c.require_signed_in()?;
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.admin())?;
    let m = find_membership(&*tx, org_id, account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if c.principal.account_id() == Some(account_id) {
        return Err(AppError::Forbidden(
            "admins cannot remove themselves; another admin must",
        ));
    }
    if m.role == Role::Admin && admin_count(&*tx, org_id).await? <= 1 {
        return Err(AppError::LastAdmin);
    }
    drop_member(&tx, c, &org, &m, "member.remove").await?;
    tx.commit().await
}

pub async fn leave(c: &Caller, org_id: Uuid) -> AppResult<organization::Model> {
    let Principal::Person { account_id, .. } = c.principal else {
        return match c.principal {
            Principal::Anonymous => Err(AppError::Unauthenticated),
            _ => Err(AppError::Forbidden("only people can leave an organization")),
        };
    };
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    // A sign-in link's session is a stranger outside its organization.
    if !standing_in(&*tx, &c.principal, org_id).await?.visible() {
        return Err(AppError::NotFound);
    }
    let m = find_membership(&*tx, org_id, account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if m.role == Role::Admin {
        return Err(AppError::Forbidden(
            "admins cannot leave; hand the role to someone else first",
        ));
    }
    drop_member(&tx, c, &org, &m, "member.leave").await?;
    tx.commit().await?;
    Ok(org)
}
