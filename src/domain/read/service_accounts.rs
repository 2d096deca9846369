//! Service accounts: seen by site admins and the organization's person
//! ADMINs only (not by service accounts).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch::{self, ParentList};
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
    let in_group = batch::page_in_group(
        c,
        org,
        req,
        ("service accounts", req.clone()),
        |orgs| async move {
            let orgs = batch::permitted(c, orgs, |st| st.person_admin()).await?;
            let list = ParentList::of(
                service_account::Entity::find(),
                service_account::Column::OrganizationId,
                service_account::Column::Id,
            );
            let pages = batch::pages(&c.services.db.conn, list, &orgs, req, batch::model).await?;
            register_named(c, pages.values().flat_map(|p| &p.rows));
            Ok(pages)
        },
    )
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let sel =
        service_account::Entity::find().filter(service_account::Column::OrganizationId.eq(org));
    let page = req
        .read(&c.services.db.conn, sel, service_account::Column::Id)
        .await?;
    register_named(c, &page.rows);
    Ok(page)
}

/// The accounts a page of service accounts names (their creators).
fn register_named<'a>(c: &Caller, rows: impl IntoIterator<Item = &'a service_account::Model>) {
    c.loaders
        .register_accounts(rows.into_iter().filter_map(|s| s.created_by_account_id));
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
    let rows = service_account::Entity::find()
        .filter(service_account::Column::Id.is_in(ids))
        .all(&c.services.db.conn)
        .await?;
    batch::keep_visible(
        c,
        rows,
        |m| m.id,
        |sa| Some(sa.organization_id),
        |st, _| st.person_admin(),
    )
    .await
}
