//! Invitations: an organization's list and one by id, for SA, A and S
//! (FORBIDDEN for other members). The lookup by token is
//! `invitation_accept::find_by_token`.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch;
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
    batch::org_page(
        c,
        org,
        req,
        ("invitations", req.clone(), status),
        with_status(invitation::Entity::find(), status, now),
        (invitation::Column::OrganizationId, invitation::Column::Id),
        |st| st.admin(),
        |i| [i.invited_by_account_id, None],
    )
    .await
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
    batch::visible_by_ids::<invitation::Entity>(
        c,
        invitation::Column::Id,
        ids,
        |m| m.id,
        |i| Some(i.organization_id),
        |st, _| st.admin(),
    )
    .await
}
