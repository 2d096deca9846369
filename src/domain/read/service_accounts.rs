//! Service accounts: seen by site admins and the organization's person
//! ADMINs only (not by service accounts).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::authz::standing;
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
    let sel =
        service_account::Entity::find().filter(service_account::Column::OrganizationId.eq(org));
    req.read(&c.services.db.conn, sel, service_account::Column::Id)
        .await
}

/// `node(id:)`.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<service_account::Model>> {
    let Some(sa) = service_account::Entity::find_by_id(id)
        .one(&c.services.db.conn)
        .await?
    else {
        return Ok(None);
    };
    let st = standing(c, sa.organization_id).await?;
    Ok(st.person_admin().then_some(sa))
}
