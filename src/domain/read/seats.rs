//! Seats: the organization's assignments and count, a member's seat, and
//! who assigned it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{IntoColumnRef, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::accounts::{self, AccountView};
use crate::domain::batch::{self, Counts, ParentList};
use crate::domain::organizations::seats_used;
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::seat;
use crate::error::AppResult;

/// A seat as a read knows it.
#[derive(Clone, Debug)]
pub enum SeatView {
    /// The whole row.
    Whole(seat::Model),
    /// Only whose it is and since when: a members page whose query shows
    /// nothing else of the seat reads no more (`assigned_by` then loads
    /// the row).
    AssignedAt {
        organization_id: Uuid,
        account_id: Uuid,
        assigned_at: DateTime<Utc>,
    },
}

impl From<seat::Model> for SeatView {
    fn from(m: seat::Model) -> Self {
        SeatView::Whole(m)
    }
}

impl SeatView {
    pub fn account_id(&self) -> Uuid {
        match self {
            SeatView::Whole(m) => m.account_id,
            SeatView::AssignedAt { account_id, .. } => *account_id,
        }
    }

    pub fn assigned_at(&self) -> DateTime<Utc> {
        match self {
            SeatView::Whole(m) => m.assigned_at,
            SeatView::AssignedAt { assigned_at, .. } => *assigned_at,
        }
    }
}

/// The seat's holder: whoever sees a seat sees the organization it is in.
pub async fn holder(c: &Caller, s: &SeatView) -> AppResult<AccountView> {
    accounts::of_row(c, s.account_id(), "seat").await
}

/// The account that assigned the seat (None: a service account did, or
/// the account is gone); its email as `accounts::named` shows it.
pub async fn assigned_by(c: &Caller, s: &SeatView) -> AppResult<Option<AccountView>> {
    let by = match s {
        SeatView::Whole(m) => m.assigned_by_account_id,
        SeatView::AssignedAt {
            organization_id,
            account_id,
            ..
        } => of_member(c, *organization_id, *account_id)
            .await?
            .and_then(|s| s.assigned_by_account_id),
    };
    accounts::named(c, by).await
}

/// A member's seat (None: holds none), through the request's loader.
pub async fn of_member(c: &Caller, org: Uuid, account: Uuid) -> AppResult<Option<seat::Model>> {
    c.loaders.seat(org, account).await
}

/// Seats assigned in the organization (`SeatPool.assignments`).
pub async fn assignments(c: &Caller, org: Uuid, req: &PageRequest) -> AppResult<Page<seat::Model>> {
    let in_group = batch::page_in_group(c, org, req, ("seats", req.clone()), |orgs| async move {
        let list = ParentList::of(
            seat::Entity::find(),
            seat::Column::OrganizationId,
            seat::Column::Id,
        );
        let pages = batch::pages(&c.services.db.conn, list, &orgs, req, batch::model).await?;
        register_holders(c, pages.values().flat_map(|p| &p.rows));
        Ok(pages)
    })
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let sel = seat::Entity::find().filter(seat::Column::OrganizationId.eq(org));
    let page = req.read(&c.services.db.conn, sel, seat::Column::Id).await?;
    register_holders(c, &page.rows);
    Ok(page)
}

/// The holders of a page of seats: their fields are read for all of them.
fn register_holders<'a>(c: &Caller, rows: impl IntoIterator<Item = &'a seat::Model>) {
    c.loaders.register_accounts(
        rows.into_iter()
            .flat_map(|s| [Some(s.account_id), s.assigned_by_account_id])
            .flatten(),
    );
}

/// How many seats are assigned now (for all organizations of a list at
/// once when the organization was read in one).
pub async fn used(c: &Caller, org: Uuid) -> AppResult<i64> {
    if let Some(group) = c.loaders.group_of(org) {
        let counts = group
            .once("seats used", |orgs| async move {
                Ok(Counts::new(
                    c.services.db.conn.clone(),
                    Query::select().from(seat::Entity).to_owned(),
                    (seat::Entity, seat::Column::OrganizationId).into_column_ref(),
                    &orgs,
                ))
            })
            .await?;
        return counts.of(org).await;
    }
    seats_used(&c.services.db.conn, org).await
}
