//! Organizations: create, update, settings, plan and seat purchases.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::authz::{standing_in, Standing};
use super::{audit, validate, Caller, Role};
use crate::auth::Principal;
use crate::config::OrgCreation;
use crate::db::lock_org;
use crate::entity::{membership, organization, seat};
use crate::error::{on_unique, AppError, AppResult, UniqueIndex};
use crate::events::{self, SeatChangeKind};

pub const MAX_SEAT_LIMIT: i32 = 10_000_000;

pub struct CreateOrganization {
    pub handle: String,
    pub name: String,
    pub description: Option<String>,
    pub email: Option<String>,
    pub link: Option<String>,
}

pub async fn create(c: &Caller, input: CreateOrganization) -> AppResult<organization::Model> {
    let account_id = match &c.principal {
        Principal::Anonymous => return Err(AppError::Unauthenticated),
        Principal::Service { .. } => {
            return Err(AppError::Forbidden(
                "service accounts cannot create organizations",
            ))
        }
        Principal::Person { scope: Some(_), .. } => {
            return Err(AppError::Forbidden(
                "a sign-in link's session acts in its organization only",
            ))
        }
        Principal::Person {
            account_id,
            site_admin,
            ..
        } => {
            if c.services.config.org_creation == OrgCreation::SiteAdmins && !site_admin {
                return Err(AppError::Forbidden(
                    "only site admins may create organizations",
                ));
            }
            *account_id
        }
    };
    let handle = validate::handle("handle", &input.handle)?;
    let name = validate::required_name("name", &input.name)?;
    let description = validate::optional_text(
        "description",
        input.description.as_deref(),
        validate::MAX_DESCRIPTION,
    )?;
    let email = validate::optional_email("email", input.email.as_deref())?;
    let link = validate::optional_link("link", input.link.as_deref())?;

    let now = c.now();
    let org = organization::Model {
        id: Uuid::now_v7(),
        handle,
        name,
        description,
        email,
        link,
        storage_enabled: true,
        notebooks_enabled: true,
        plan_name: "free".into(),
        seat_limit: c.services.config.default_seat_limit,
        plan_starts_on: now.date_naive(),
        plan_ends_on: None,
        created_at: now,
        updated_at: now,
    };
    let tx = c.write_tx().await?;
    organization::Entity::insert(organization::ActiveModel::from(org.clone()))
        .exec_without_returning(&*tx)
        .await
        .map_err(|e| {
            on_unique(
                e,
                UniqueIndex::OrganizationsHandle,
                AppError::AlreadyExists(format!("the handle '{}' is taken", org.handle)),
            )
        })?;
    membership::Entity::insert(membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        account_id: Set(account_id),
        role: Set(Role::Admin),
        created_at: Set(now),
    })
    .exec_without_returning(&*tx)
    .await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org.id),
            action: "organization.create",
            actor: &c.principal,
            target_account_id: None,
            data: json!({ "handle": org.handle, "name": org.name }),
        },
    )
    .await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org.id),
            action: "member.add",
            actor: &c.principal,
            target_account_id: Some(account_id),
            data: json!({ "role": Role::Admin.as_str() }),
        },
    )
    .await?;
    tx.commit().await?;
    super::members::joined(c, org.id, now);
    Ok(org)
}

/// Lock the organization, read the caller's standing and check it.
async fn locked<'a>(
    c: &'a Caller,
    org_id: Uuid,
    allowed: impl Fn(Standing) -> bool,
) -> AppResult<(crate::db::WriteTx<'a>, organization::Model, Standing)> {
    c.require_signed_in()?;
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(allowed(st))?;
    Ok((tx, org, st))
}

pub struct UpdateOrganization {
    pub name: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub link: Option<String>,
}

pub async fn update(
    c: &Caller,
    org_id: Uuid,
    input: UpdateOrganization,
) -> AppResult<organization::Model> {
    // Validate before taking the lock; an empty string clears an optional field.
    let name = input
        .name
        .as_deref()
        .map(|n| validate::required_name("name", n))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| validate::optional_text("description", Some(d), validate::MAX_DESCRIPTION))
        .transpose()?;
    let email = input
        .email
        .as_deref()
        .map(|e| validate::optional_email("email", Some(e)))
        .transpose()?;
    let link = input
        .link
        .as_deref()
        .map(|l| validate::optional_link("link", Some(l)))
        .transpose()?;

    let (tx, org, _) = locked(c, org_id, Standing::admin).await?;
    let before = org.clone();
    let mut am: organization::ActiveModel = org.into();
    if let Some(v) = name {
        am.name = Set(v);
    }
    if let Some(v) = description {
        am.description = Set(v);
    }
    if let Some(v) = email {
        am.email = Set(v);
    }
    if let Some(v) = link {
        am.link = Set(v);
    }
    am.updated_at = Set(c.now());
    let after = am.update(&*tx).await?;
    audit::record(
        &*tx,
        c.now(),
        audit::Event {
            organization_id: Some(org_id),
            action: "organization.update",
            actor: &c.principal,
            target_account_id: None,
            data: audit::diff(&[
                ("name", json!(before.name), json!(after.name)),
                (
                    "description",
                    json!(before.description),
                    json!(after.description),
                ),
                ("email", json!(before.email), json!(after.email)),
                ("link", json!(before.link), json!(after.link)),
            ]),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn update_settings(
    c: &Caller,
    org_id: Uuid,
    storage: Option<bool>,
    notebooks: Option<bool>,
) -> AppResult<organization::Model> {
    let (tx, org, _) = locked(c, org_id, Standing::admin).await?;
    let before = org.clone();
    let mut am: organization::ActiveModel = org.into();
    if let Some(v) = storage {
        am.storage_enabled = Set(v);
    }
    if let Some(v) = notebooks {
        am.notebooks_enabled = Set(v);
    }
    am.updated_at = Set(c.now());
    let after = am.update(&*tx).await?;
    audit::record(
        &*tx,
        c.now(),
        audit::Event {
            organization_id: Some(org_id),
            action: "organization.settings_update",
            actor: &c.principal,
            target_account_id: None,
            data: audit::diff(&[
                (
                    "storageEnabled",
                    json!(before.storage_enabled),
                    json!(after.storage_enabled),
                ),
                (
                    "notebooksEnabled",
                    json!(before.notebooks_enabled),
                    json!(after.notebooks_enabled),
                ),
            ]),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub struct SetPlan {
    pub name: String,
    pub seat_limit: i32,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

pub async fn seats_used<C: sea_orm::ConnectionTrait>(tx: &C, org_id: Uuid) -> AppResult<i64> {
    Ok(seat::Entity::find()
        .filter(seat::Column::OrganizationId.eq(org_id))
        .count(tx)
        .await? as i64)
}

pub async fn set_plan(c: &Caller, org_id: Uuid, input: SetPlan) -> AppResult<organization::Model> {
    let name = validate::required_name("name", &input.name)?;
    if !(0..=MAX_SEAT_LIMIT).contains(&input.seat_limit) {
        return Err(AppError::bad_input(
            &["seatLimit"],
            format!("seatLimit must be 0 to {MAX_SEAT_LIMIT}"),
        ));
    }
    if let Some(end) = input.ends_on {
        if end < input.starts_on {
            return Err(AppError::bad_input(
                &["endsOn"],
                "endsOn must not be before startsOn",
            ));
        }
    }
    let (tx, org, _) = locked(c, org_id, Standing::is_site_admin).await?;
    let used = seats_used(&*tx, org_id).await?;
    if (input.seat_limit as i64) < used {
        return Err(AppError::SeatLimitReached);
    }
    let before = org.clone();
    let mut am: organization::ActiveModel = org.into();
    am.plan_name = Set(name);
    am.seat_limit = Set(input.seat_limit);
    am.plan_starts_on = Set(input.starts_on);
    am.plan_ends_on = Set(input.ends_on);
    am.updated_at = Set(c.now());
    let after = am.update(&*tx).await?;
    // Tokens never outlive the plan: an end moved earlier takes every live
    // token's expiry with it, in this transaction.
    let clamped = super::tokens::clamp_to_plan(&*tx, &after, c.now()).await?;
    let mut data = audit::diff(&[
        ("name", json!(before.plan_name), json!(after.plan_name)),
        (
            "seatLimit",
            json!(before.seat_limit),
            json!(after.seat_limit),
        ),
        (
            "startsOn",
            json!(before.plan_starts_on),
            json!(after.plan_starts_on),
        ),
        (
            "endsOn",
            json!(before.plan_ends_on),
            json!(after.plan_ends_on),
        ),
    ]);
    if clamped > 0 {
        data["tokensClamped"] = json!(clamped);
    }
    audit::record(
        &*tx,
        c.now(),
        audit::Event {
            organization_id: Some(org_id),
            action: "plan.set",
            actor: &c.principal,
            target_account_id: None,
            data,
        },
    )
    .await?;
    tx.emit(events::seat(
        SeatChangeKind::LimitChanged,
        org_id,
        after.seat_limit,
        None,
        used,
        c.now(),
    ));
    tx.commit().await?;
    Ok(after)
}

pub async fn purchase_seats(
    c: &Caller,
    org_id: Uuid,
    quantity: i32,
) -> AppResult<organization::Model> {
    if !(1..=10_000).contains(&quantity) {
        return Err(AppError::bad_input(
            &["quantity"],
            "quantity must be 1 to 10,000",
        ));
    }
    let (tx, org, _) = locked(c, org_id, Standing::billing).await?;
    let new_limit = org.seat_limit.saturating_add(quantity);
    if new_limit > MAX_SEAT_LIMIT {
        return Err(AppError::bad_input(
            &["quantity"],
            format!("the seat limit cannot exceed {MAX_SEAT_LIMIT}"),
        ));
    }
    let before = org.seat_limit;
    let mut am: organization::ActiveModel = org.into();
    am.seat_limit = Set(new_limit);
    am.updated_at = Set(c.now());
    let after = am.update(&*tx).await?;
    let used = seats_used(&*tx, org_id).await?;
    audit::record(&*tx, c.now(), audit::Event {
        organization_id: Some(org_id),
        action: "plan.purchase_seats",
        actor: &c.principal,
        target_account_id: None,
        data: json!({ "quantity": quantity, "seatLimit": { "before": before, "after": new_limit } }),
    })
    .await?;
    tx.emit(events::seat(
        SeatChangeKind::LimitChanged,
        org_id,
        after.seat_limit,
        None,
        used,
        c.now(),
    ));
    tx.commit().await?;
    Ok(after)
}
