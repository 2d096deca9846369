//! Memberships: one by id or by (organization, account), and an account's
//! memberships in the organizations the caller sees. A page of an
//! organization's members is `members_page`.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use super::accounts::AccountView;
use super::seats::{self, SeatView};
use crate::auth::Principal;
use crate::domain::batch::{self, ParentList};
use crate::domain::page::{Page, PageRequest, TotalCount};
use crate::domain::Caller;
use crate::entity::{membership, organization, seat};
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
    Ok(node_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the ones the caller may see, in one statement.
pub async fn node_many(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, MemberRow>> {
    let seen = batch::visible_by_ids::<membership::Entity>(
        c,
        membership::Column::Id,
        ids,
        |m| m.id,
        |m| Some(m.organization_id),
        |_, _| true,
    )
    .await?;
    c.loaders
        .register_accounts(seen.values().map(|m| m.account_id));
    Ok(seen
        .into_iter()
        .map(|(id, m)| (id, MemberRow::bare(m)))
        .collect())
}

/// `Account.memberships`: in the organizations the caller sees (all for
/// the account itself and site admins; shared ones for other people; its
/// own organization for a service account or a sign-in link's session).
pub async fn of_account(
    c: &Caller,
    account: Uuid,
    req: &PageRequest,
) -> AppResult<Page<MemberRow>> {
    let in_group = batch::page_in_group(
        c,
        account,
        req,
        ("memberships", req.clone()),
        |accounts| async move {
            let sel = visible_memberships(c, None);
            let list = ParentList::of(sel, membership::Column::AccountId, membership::Column::Id);
            let pages =
                batch::pages(&c.services.db.conn, list, &accounts, req, batch::model).await?;
            c.loaders.register_organizations(
                pages
                    .values()
                    .flat_map(|p: &Page<membership::Model>| &p.rows)
                    .map(|m| m.organization_id),
            );
            Ok(pages
                .into_iter()
                .map(|(a, p)| (a, p.map(MemberRow::bare)))
                .collect())
        },
    )
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let sel =
        visible_memberships(c, Some(account)).filter(membership::Column::AccountId.eq(account));
    // With their organizations: a list of memberships is nearly always
    // shown with them (an organization switcher), and they are then no
    // statement of their own.
    let total = TotalCount::of(c.services.db.conn.clone(), sel.clone());
    let rows = req
        .apply(sel, membership::Column::Id)
        .find_also_related(organization::Entity)
        .all(&c.services.db.conn)
        .await?;
    let mut orgs = Vec::with_capacity(rows.len());
    let mut page = Vec::with_capacity(rows.len());
    for (m, o) in rows {
        orgs.extend(o);
        page.push(m);
    }
    c.loaders.register_organization_rows(&orgs);
    Ok(req.finish(page, total).map(MemberRow::bare))
}

/// The memberships the caller sees of `account` (None: of any account,
/// whose rows say whose they are).
fn visible_memberships(c: &Caller, account: Option<Uuid>) -> Select<membership::Entity> {
    let sel = membership::Entity::find();
    match &c.principal {
        Principal::Person { scope: Some(s), .. } => {
            sel.filter(membership::Column::OrganizationId.eq(s.organization_id))
        }
        Principal::Person {
            site_admin: true, ..
        } => sel,
        Principal::Person { account_id, .. } if account == Some(*account_id) => sel,
        // Another person's: in the organizations both belong to (all of
        // the caller's own, in a read of many).
        Principal::Person { account_id, .. } => sel.filter(
            Condition::any()
                .add(membership::Column::AccountId.eq(*account_id))
                .add(
                    membership::Column::OrganizationId
                        .in_subquery(super::organizations_of(*account_id)),
                ),
        ),
        Principal::Service {
            organization_id, ..
        } => sel.filter(membership::Column::OrganizationId.eq(*organization_id)),
        Principal::Anonymous => sel.filter(membership::Column::Id.is_null()),
    }
}
