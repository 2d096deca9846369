//! Memberships: one by id or by (organization, account), and an account's
//! memberships in the organizations the caller sees. A page of an
//! organization's members is `members_page`.

use std::sync::Arc;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::accounts::AccountView;
use super::seats::{self, SeatView};
use crate::auth::Principal;
use crate::domain::authz::standing;
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::{membership, seat};
use crate::error::AppResult;

/// A membership and what the read that produced it read of its seat and
/// account.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub membership: membership::Model,
    /// None: not read (`seat` asks the loader); `Some(None)`: the member
    /// holds no seat.
    pub seat: Option<Option<SeatView>>,
    /// None: not read (`account` asks the loader). Shared: the API's
    /// objects of a row are cloned (edges and nodes).
    pub account: Option<Arc<AccountView>>,
}

impl MemberRow {
    /// A membership read alone.
    pub fn bare(membership: membership::Model) -> Self {
        MemberRow {
            membership,
            seat: None,
            account: None,
        }
    }

    /// A membership whose seat (or its absence) is known.
    pub fn with_seat(membership: membership::Model, seat: Option<seat::Model>) -> Self {
        MemberRow {
            membership,
            seat: Some(seat.map(SeatView::Whole)),
            account: None,
        }
    }

    pub fn id(&self) -> Uuid {
        self.membership.id
    }
}

/// The member's seat, from the row when it was read, else the loader.
pub async fn seat(c: &Caller, row: &MemberRow) -> AppResult<Option<SeatView>> {
    if let Some(known) = &row.seat {
        return Ok(known.clone());
    }
    let m = &row.membership;
    Ok(seats::of_member(c, m.organization_id, m.account_id)
        .await?
        .map(SeatView::Whole))
}

/// The member's account (whoever sees a membership sees the organization
/// it is in, so the email too): the row's view when it was read.
pub async fn account(c: &Caller, row: &MemberRow) -> AppResult<Arc<AccountView>> {
    if let Some(acc) = &row.account {
        return Ok(acc.clone());
    }
    Ok(Arc::new(
        super::accounts::of_row(c, row.membership.account_id, "membership").await?,
    ))
}

/// `Organization.member(account:)` of an organization the caller sees.
pub async fn of(c: &Caller, org: Uuid, account: Uuid) -> AppResult<Option<MemberRow>> {
    Ok(c.loaders
        .membership(org, account)
        .await?
        .map(MemberRow::bare))
}

/// `node(id:)`: for whoever sees its organization.
pub async fn node(c: &Caller, id: Uuid) -> AppResult<Option<MemberRow>> {
    let Some(m) = membership::Entity::find_by_id(id)
        .one(&c.services.db.conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(standing(c, m.organization_id)
        .await?
        .visible()
        .then(|| MemberRow::bare(m)))
}

/// `Account.memberships`: in the organizations the caller sees (all for
/// the account itself and site admins; shared ones for other people; its
/// own organization for a service account or a sign-in link's session).
pub async fn of_account(
    c: &Caller,
    account: Uuid,
    req: &PageRequest,
) -> AppResult<Page<MemberRow>> {
    let mut sel = membership::Entity::find().filter(membership::Column::AccountId.eq(account));
    match &c.principal {
        Principal::Person { scope: Some(s), .. } => {
            sel = sel.filter(membership::Column::OrganizationId.eq(s.organization_id));
        }
        Principal::Person {
            site_admin: true, ..
        } => {}
        Principal::Person { account_id, .. } if *account_id == account => {}
        Principal::Person { account_id, .. } => {
            sel = sel.filter(
                membership::Column::OrganizationId
                    .in_subquery(super::organizations_of(*account_id)),
            );
        }
        Principal::Service {
            organization_id, ..
        } => {
            sel = sel.filter(membership::Column::OrganizationId.eq(*organization_id));
        }
        Principal::Anonymous => {
            sel = sel.filter(membership::Column::Id.is_null());
        }
    }
    let page = req
        .read(&c.services.db.conn, sel, membership::Column::Id)
        .await?;
    Ok(page.map(MemberRow::bare))
}
