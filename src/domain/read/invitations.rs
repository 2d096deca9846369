//! Invitations: an organization's list and one by id, for SA, A and S
//! (FORBIDDEN for other members). The lookup by token is
//! `invitation_accept::find_by_token`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::authz::standing;
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
    let mut sel = invitation::Entity::find().filter(invitation::Column::OrganizationId.eq(org));
    sel = match status {
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
    };
    req.read(&c.services.db.conn, sel, invitation::Column::Id)
        .await
}

/// `node(id:)`: for those who may list the organization's invitations.
pub async fn node(c: &Caller, id: Uuid) -> AppResult<Option<invitation::Model>> {
    let Some(inv) = invitation::Entity::find_by_id(id)
        .one(&c.services.db.conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(standing(c, inv.organization_id)
        .await?
        .admin()
        .then_some(inv))
}
