//! A page of an organization's members (`Organization.members`), filtered
//! by role, seat and a search, in one statement with the seat and account
//! columns its query shows.
//!
//! One statement for the page, its seats and its accounts: a page costs the
//! same whatever its size, without depending on when the dataloader's
//! batching window closes. Only the columns asked for (`MemberColumns`,
//! which the API layer derives from the query's selection): each value a
//! row carries costs a copy, an allocation and a free in the driver, and
//! the seat's and account's keys are the membership's own (issue 8). Rows
//! are decoded by position (entity/positional.rs), and what was not read is
//! `None` in the row (`MemberRow`, `AccountView`).
//!
//! The statement is built for one organization; `decode` takes the
//! organization's id from its caller, so a read of several organizations'
//! pages (a window per organization) can reuse it with the id from its row.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, JoinType,
    QueryFilter, QueryResult, QuerySelect, QueryTrait, RelationTrait, Select,
};
use uuid::Uuid;

use super::accounts::AccountView;
use super::members::MemberRow;
use super::seats::SeatView;
use crate::domain::batch::{self, ParentList};
use crate::domain::page::{Page, PageRequest, TotalCount};
use crate::domain::{AccountKind, Caller, Role};
use crate::entity::positional::{membership_in_org_at, MEMBERSHIP_IN_ORG_COLUMNS};
use crate::entity::{account, membership, seat};
use crate::error::{AppError, AppResult};

/// Which members a page lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MembersFilter {
    pub role: Option<Role>,
    pub has_seat: Option<bool>,
    /// Part of an email, first or last name (any case); blank: no filter.
    pub search: Option<String>,
}

/// What a page reads of each member's seat and account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemberColumns {
    pub seat: SeatColumns,
    /// None: the account is not shown (its id comes with the membership).
    pub account: Option<AccountColumns>,
}

/// How much of a member's seat a page reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SeatColumns {
    /// Nothing: no join (`MemberRow::seat` is None).
    #[default]
    None,
    /// Whether there is one and since when (`SeatView::AssignedAt`).
    AssignedAt,
    /// The whole row (`SeatView::Whole`).
    Whole,
}

/// An account column a page may read, in the order a page lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountColumn {
    Kind,
    Email,
    FirstName,
    LastName,
    IsSiteAdmin,
    CreatedAt,
}

impl AccountColumn {
    pub const ALL: [AccountColumn; 6] = [
        AccountColumn::Kind,
        AccountColumn::Email,
        AccountColumn::FirstName,
        AccountColumn::LastName,
        AccountColumn::IsSiteAdmin,
        AccountColumn::CreatedAt,
    ];

    fn column(self) -> account::Column {
        match self {
            AccountColumn::Kind => account::Column::Kind,
            AccountColumn::Email => account::Column::Email,
            AccountColumn::FirstName => account::Column::FirstName,
            AccountColumn::LastName => account::Column::LastName,
            AccountColumn::IsSiteAdmin => account::Column::IsSiteAdmin,
            AccountColumn::CreatedAt => account::Column::CreatedAt,
        }
    }

    /// Read this column of `r` at `at` into the view.
    fn decode(self, r: &QueryResult, at: usize, v: &mut AccountView) -> Result<(), DbErr> {
        match self {
            AccountColumn::Kind => v.kind = Some(r.try_get_by_index::<AccountKind>(at)?),
            AccountColumn::Email => v.email = Some(r.try_get_by_index(at)?),
            AccountColumn::FirstName => v.first_name = Some(r.try_get_by_index(at)?),
            AccountColumn::LastName => v.last_name = Some(r.try_get_by_index(at)?),
            AccountColumn::IsSiteAdmin => v.is_site_admin = Some(r.try_get_by_index(at)?),
            AccountColumn::CreatedAt => v.created_at = Some(r.try_get_by_index(at)?),
        }
        Ok(())
    }
}

/// A set of account columns (what to read; a row holds `Option`s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccountColumns([bool; AccountColumn::ALL.len()]);

impl AccountColumns {
    pub fn all() -> Self {
        AccountColumns([true; AccountColumn::ALL.len()])
    }

    pub fn insert(&mut self, c: AccountColumn) {
        self.0[c as usize] = true;
    }

    pub fn contains(self, c: AccountColumn) -> bool {
        self.0[c as usize]
    }

    pub fn is_empty(self) -> bool {
        self == Self::default()
    }

    /// The columns in the set, in the order a page lists them.
    pub fn iter(self) -> impl Iterator<Item = AccountColumn> + Clone {
        AccountColumn::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// The organization's memberships that `filter` lets through (None: of
/// any organization, for a read of many).
fn members_of(org: Option<Uuid>, filter: &MembersFilter) -> AppResult<Select<membership::Entity>> {
    let mut sel = membership::Entity::find();
    if let Some(org) = org {
        sel = sel.filter(membership::Column::OrganizationId.eq(org));
    }
    if let Some(r) = filter.role {
        sel = sel.filter(membership::Column::Role.eq(r));
    }
    if let Some(h) = filter.has_seat {
        let seat_org = Expr::col((seat::Entity, seat::Column::OrganizationId));
        let seated = Query::select()
            .column(seat::Column::AccountId)
            .from(seat::Entity)
            .and_where(match org {
                Some(org) => seat_org.eq(org),
                None => seat_org.equals((membership::Entity, membership::Column::OrganizationId)),
            })
            .to_owned();
        sel = sel.filter(if h {
            membership::Column::AccountId.in_subquery(seated)
        } else {
            membership::Column::AccountId.not_in_subquery(seated)
        });
    }
    let search = filter.search.as_deref().map(str::trim);
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        if s.chars().count() > 254 {
            return Err(AppError::bad_input(
                &["search"],
                "search is at most 254 characters",
            ));
        }
        let pat = escape_like(s);
        let like = |col: account::Column| {
            Expr::expr(Func::lower(Expr::col((account::Entity, col))))
                .like(LikeExpr::new(pat.clone()).escape('\\'))
        };
        let matching = Query::select()
            .column(account::Column::Id)
            .from(account::Entity)
            .cond_where(
                Condition::any()
                    .add(like(account::Column::Email))
                    .add(like(account::Column::FirstName))
                    .add(like(account::Column::LastName)),
            )
            .to_owned();
        sel = sel.filter(membership::Column::AccountId.in_subquery(matching));
    }
    Ok(sel)
}

/// The page's statement: the memberships' columns, then the seat's, then
/// the account's, as `decode` reads them.
fn with_columns(
    sel: Select<membership::Entity>,
    cols: MemberColumns,
) -> Select<membership::Entity> {
    let mut query = sel.select_only().columns(MEMBERSHIP_IN_ORG_COLUMNS);
    if cols.seat != SeatColumns::None {
        query = query
            .join(JoinType::LeftJoin, membership::Relation::Seat.def())
            .column(seat::Column::AssignedAt);
        if cols.seat == SeatColumns::Whole {
            query = query
                .column(seat::Column::Id)
                .column(seat::Column::AssignedByAccountId)
                .column(seat::Column::AssignedByServiceAccountId);
        }
    }
    let account = cols.account.unwrap_or_default();
    if !account.is_empty() {
        query = query.join(JoinType::InnerJoin, membership::Relation::Account.def());
        for c in account.iter() {
            query = query.column(c.column());
        }
    }
    query
}

/// One row of the page's statement (see `with_columns`).
fn decode(r: &QueryResult, org: Uuid, cols: MemberColumns) -> Result<MemberRow, DbErr> {
    let m = membership_in_org_at(r, 0, org)?;
    let mut at = MEMBERSHIP_IN_ORG_COLUMNS.len();
    let mut next = || {
        at += 1;
        at - 1
    };
    let seat = match cols.seat {
        SeatColumns::None => None,
        SeatColumns::AssignedAt => {
            let assigned_at: Option<DateTime<Utc>> = r.try_get_by_index(next())?;
            Some(assigned_at.map(|assigned_at| SeatView::AssignedAt {
                organization_id: org,
                account_id: m.account_id,
                assigned_at,
            }))
        }
        SeatColumns::Whole => {
            let assigned_at: Option<DateTime<Utc>> = r.try_get_by_index(next())?;
            let id: Option<Uuid> = r.try_get_by_index(next())?;
            let assigned_by_account_id = r.try_get_by_index(next())?;
            let assigned_by_service_account_id = r.try_get_by_index(next())?;
            Some(match (id, assigned_at) {
                (Some(id), Some(assigned_at)) => Some(SeatView::Whole(seat::Model {
                    id,
                    organization_id: org,
                    account_id: m.account_id,
                    assigned_at,
                    assigned_by_account_id,
                    assigned_by_service_account_id,
                })),
                _ => None,
            })
        }
    };
    let account = match cols.account {
        None => None,
        Some(shown) => {
            let mut v = AccountView::id_only(m.account_id);
            for c in shown.iter() {
                c.decode(r, next(), &mut v)?;
            }
            Some(Arc::new(v))
        }
    };
    Ok(MemberRow {
        membership: m,
        seat,
        account,
    })
}

/// `Organization.members` of an organization the caller sees: whoever
/// sees an organization sees its members, and their emails.
pub async fn page(
    c: &Caller,
    org: Uuid,
    filter: &MembersFilter,
    req: &PageRequest,
    cols: MemberColumns,
) -> AppResult<Page<MemberRow>> {
    let key = ("members", filter.clone(), req.clone(), cols);
    let in_group = batch::page_in_group(c, org, req, key, |orgs| async move {
        let sel = members_of(None, filter)?;
        let list = ParentList {
            rows: with_columns(sel.clone(), cols).into_query(),
            count: sel.into_query(),
            parent: (membership::Entity, membership::Column::OrganizationId).into_column_ref(),
            id: (membership::Entity, membership::Column::Id).into_column_ref(),
        };
        let pages = batch::pages(&c.services.db.conn, list, &orgs, req, |r| {
            decode(r, r.try_get("", batch::PARENT)?, cols)
        })
        .await?;
        register_accounts(c, pages.values().flat_map(|p| &p.rows));
        Ok(pages)
    })
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let page = read(&c.services.db.conn, org, filter, req, cols).await?;
    register_accounts(c, &page.rows);
    Ok(page)
}

/// The members' accounts and who assigned their seats: their fields are
/// read for the whole page.
fn register_accounts<'a>(c: &Caller, rows: impl IntoIterator<Item = &'a MemberRow>) {
    c.loaders.register_accounts(rows.into_iter().flat_map(|r| {
        let by = match &r.seat {
            Some(Some(SeatView::Whole(s))) => s.assigned_by_account_id,
            _ => None,
        };
        [Some(r.membership.account_id), by].into_iter().flatten()
    }));
}

async fn read(
    conn: &DatabaseConnection,
    org: Uuid,
    filter: &MembersFilter,
    req: &PageRequest,
    cols: MemberColumns,
) -> AppResult<Page<MemberRow>> {
    let sel = members_of(Some(org), filter)?;
    let total = TotalCount::of(conn.clone(), sel.clone());
    let query = with_columns(req.apply(sel, membership::Column::Id), cols);
    let stmt = crate::db::inline_limit(query.build(conn.get_database_backend()));
    let raw = conn.query_all_raw(stmt).await?;
    let rows = raw
        .iter()
        .map(|r| decode(r, org, cols))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(req.finish(rows, total))
}

#[cfg(test)]
#[path = "members_page_tests.rs"]
mod tests;
