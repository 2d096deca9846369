//! Service accounts: seen by site admins and the organization's person
//! ADMINs only (not by service accounts).

use std::collections::HashMap;

use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch;
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::service_account;
use crate::error::AppResult;

/// `Organization.serviceAccounts`.
pub async fn list(
    c: &Caller,
    org: Uuid,
    req: &PageRequest,
) -> AppResult<Page<service_account::Model>> {
    let st = standing(c, org).await?;
    st.require(st.person_admin())?;
    batch::org_page(
        c,
        org,
        req,
        ("service accounts", req.clone()),
        service_account::Entity::find(),
        (
            service_account::Column::OrganizationId,
            service_account::Column::Id,
        ),
        |st| st.person_admin(),
        |s| [s.created_by_account_id, None],
    )
    .await
}

/// `node(id:)`.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<service_account::Model>> {
    Ok(visible_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the ones the caller may see, in one statement.
pub async fn visible_many(
    c: &Caller,
    ids: Vec<Uuid>,
) -> AppResult<HashMap<Uuid, service_account::Model>> {
    batch::visible_by_ids::<service_account::Entity>(
        c,
        service_account::Column::Id,
        ids,
        |m| m.id,
        |sa| Some(sa.organization_id),
        |st, _| st.person_admin(),
    )
    .await
}
