//! Invitations: an organization's list and one by id, for SA, A and S
//! (FORBIDDEN for other members). The lookup by token is
//! `invitation_accept::find_by_token`.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch::{self, ParentList};
use crate::domain::invitations::InvitationStatus;
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::enums::StoredInvitationStatus as Stored;
use crate::entity::invitation;
use crate::error::AppResult;

/// Whether the caller may list the organization's invitations. `list`
/// checks it too; the API asks first, before it decodes the cursors, so
/// that a caller who may not list learns nothing about them.
pub async fn may_list(c: &Caller, org: Uuid) -> AppResult<()> {
    let st = standing(c, org).await?;
    st.require(st.admin())
}

/// `Organization.invitations`, oldest first.
pub async fn list(
    c: &Caller,
    org: Uuid,
    req: &PageRequest,
    status: Option<InvitationStatus>,
) -> AppResult<Page<invitation::Model>> {
    may_list(c, org).await?;
    let now = c.now();
    let key = ("invitations", req.clone(), status);
    let in_group = batch::page_in_group(c, org, req, key, |orgs| async move {
        let orgs = batch::permitted(c, orgs, |st| st.admin()).await?;
        let sel = with_status(invitation::Entity::find(), status, now);
        let list = ParentList::of(
            sel,
            invitation::Column::OrganizationId,
            invitation::Column::Id,
        );
        let pages = batch::pages(&c.services.db.conn, list, &orgs, req, batch::model).await?;
        register_named(c, pages.values().flat_map(|p| &p.rows));
        Ok(pages)
    })
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let sel = with_status(
        invitation::Entity::find().filter(invitation::Column::OrganizationId.eq(org)),
        status,
        now,
    );
    let page = req
        .read(&c.services.db.conn, sel, invitation::Column::Id)
        .await?;
    register_named(c, &page.rows);
    Ok(page)
}

/// The accounts a page of invitations names (who invited).
fn register_named<'a>(c: &Caller, rows: impl IntoIterator<Item = &'a invitation::Model>) {
    c.loaders
        .register_accounts(rows.into_iter().filter_map(|i| i.invited_by_account_id));
}

/// `sel` narrowed to invitations in `status` at `now`.
fn with_status(
    sel: Select<invitation::Entity>,
    status: Option<InvitationStatus>,
    now: chrono::DateTime<chrono::Utc>,
) -> Select<invitation::Entity> {
    match status {
        None => sel,
        Some(InvitationStatus::Pending) => sel
            .filter(invitation::Column::Status.eq(Stored::Pending))
            .filter(invitation::Column::ExpiresAt.gte(now)),
        Some(InvitationStatus::Expired) => sel
            .filter(invitation::Column::Status.eq(Stored::Pending))
            .filter(invitation::Column::ExpiresAt.lt(now)),
        Some(InvitationStatus::Accepted) => {
            sel.filter(invitation::Column::Status.eq(Stored::Accepted))
        }
        Some(InvitationStatus::Declined) => {
            sel.filter(invitation::Column::Status.eq(Stored::Declined))
        }
        Some(InvitationStatus::Revoked) => {
            sel.filter(invitation::Column::Status.eq(Stored::Revoked))
        }
    }
}

/// `node(id:)`: for those who may list the organization's invitations.
pub async fn node(c: &Caller, id: Uuid) -> AppResult<Option<invitation::Model>> {
    Ok(node_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the ones the caller may see, in one statement.
pub async fn node_many(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, invitation::Model>> {
    let rows = invitation::Entity::find()
        .filter(invitation::Column::Id.is_in(ids))
        .all(&c.services.db.conn)
        .await?;
    batch::keep_visible(
        c,
        rows,
        |m| m.id,
        |i| Some(i.organization_id),
        |st, _| st.admin(),
    )
    .await
}
