//! Organization objects and their plan, settings and members.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::scalars::Date;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect,
    QueryTrait, RelationTrait,
};
use uuid::Uuid;

use super::account::{AccountCols, AccountView};
use super::enums::{InvitationStatus, Role, UsageInterval, UsageMetric};
use super::ids::{self, NodeKind};
use super::member::{KnownSeat, Membership, MembershipConnection};
use super::pagination::{Page, PageArgs, TotalCount};
use crate::connection;
use crate::domain::authz::standing;
use crate::domain::Caller;
use crate::entity::positional::{membership_in_org_at, MEMBERSHIP_IN_ORG_COLUMNS};
use crate::entity::{account, membership, organization, seat};
use crate::error::AppError;

#[derive(Clone)]
pub struct Organization(pub organization::Model);

/// The account columns a members page can read, in the order it lists them.
const ACCOUNT_COLUMNS: [(AccountCols, account::Column); 6] = [
    (AccountCols::KIND, account::Column::Kind),
    (AccountCols::EMAIL, account::Column::Email),
    (AccountCols::FIRST_NAME, account::Column::FirstName),
    (AccountCols::LAST_NAME, account::Column::LastName),
    (AccountCols::IS_SITE_ADMIN, account::Column::IsSiteAdmin),
    (AccountCols::CREATED_AT, account::Column::CreatedAt),
];

/// What a members page's query shows of each row's seat and account, read
/// ahead from its selection under `nodes` and `edges { node }` (fragments
/// included, whatever their type condition, so it errs towards reading
/// more).
struct PageColumns {
    seat: SeatColumns,
    /// `account` is selected, and which of its columns it shows.
    account: Option<AccountCols>,
}

/// How much of a member's seat a page reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SeatColumns {
    /// `seat` is not selected: no join.
    None,
    /// Only `assignedAt` (and `__typename`): `KnownSeat::AssignedAt`.
    AssignedAt,
    /// Anything more: the whole row.
    Full,
}

impl PageColumns {
    fn shown_by(members: &async_graphql::Lookahead<'_>) -> Self {
        let rows = [members.field("nodes"), members.field("edges").field("node")];
        // Each `name` field selected under a row, and the fields selected
        // under those.
        let under = |name: &str| {
            let fields: Vec<_> = rows
                .iter()
                .flat_map(|r| r.field(name).selection_fields())
                .collect();
            let inner: Vec<_> = fields.iter().flat_map(|f| f.selection_set()).collect();
            (!fields.is_empty(), inner)
        };
        let (seat, seat_fields) = under("seat");
        let (account, account_fields) = under("account");
        PageColumns {
            seat: if !seat {
                SeatColumns::None
            } else if seat_fields
                .iter()
                .all(|f| matches!(f.name(), "assignedAt" | "__typename"))
            {
                SeatColumns::AssignedAt
            } else {
                SeatColumns::Full
            },
            account: account.then(|| AccountCols::shown_by(account_fields)),
        }
    }
}

impl Organization {
    /// The organization an object belongs to, through the request's loader.
    /// Callers decide visibility; an object never outlives its organization
    /// (cascading deletes), so a miss reads as NOT_FOUND.
    pub async fn load(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Organization> {
        let c = ctx.data::<Caller>()?;
        let org = c
            .loaders
            .organization(id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Organization(org))
    }
}

connection!(OrganizationConnection, OrganizationEdge, Organization);

#[derive(SimpleObject)]
pub struct OrganizationSettings {
    /// Members may save and share files on the service's storage.
    pub storage_enabled: bool,
    /// Members may use hosted notebooks.
    pub notebooks_enabled: bool,
}

#[derive(SimpleObject)]
pub struct Plan {
    pub name: String,
    /// Seats purchased: the most seats that may be assigned at once.
    pub seat_limit: i32,
    pub starts_on: Date,
    /// Null for a plan with no end. Access tokens never outlive it.
    pub ends_on: Option<Date>,
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

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Organization, self.0.id)
    }
    /// URL identifier: 1-39 chars of a-z, 0-9 and '-', starts with a letter, globally unique, immutable.
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    /// Display name; can be changed at any time.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn link(&self) -> Option<&str> {
        self.0.link.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn settings(&self) -> OrganizationSettings {
        OrganizationSettings {
            storage_enabled: self.0.storage_enabled,
            notebooks_enabled: self.0.notebooks_enabled,
        }
    }
    async fn plan(&self) -> Plan {
        Plan {
            name: self.0.plan_name.clone(),
            seat_limit: self.0.seat_limit,
            starts_on: Date(self.0.plan_starts_on),
            ends_on: self.0.plan_ends_on.map(Date),
        }
    }
    /// The caller's role here; null when the caller is not a member (site admin, service account).
    async fn viewer_role(&self, ctx: &Context<'_>) -> Result<Option<Role>> {
        let c = ctx.data::<Caller>()?;
        Ok(standing(c, self.0.id).await?.role().map(Role::from))
    }

    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        role: Option<Role>,
        has_seat: Option<bool>,
        search: Option<String>,
    ) -> Result<MembershipConnection> {
        let c = ctx.data::<Caller>()?;
        let page = Page::parse(
            &PageArgs::new(first, after, last, before),
            "Membership",
            c.state.cursor_key.clone(),
        )?;
        let mut sel =
            membership::Entity::find().filter(membership::Column::OrganizationId.eq(self.0.id));
        if let Some(r) = role {
            sel = sel.filter(membership::Column::Role.eq(crate::domain::Role::from(r)));
        }
        if let Some(h) = has_seat {
            let seated = Query::select()
                .column(seat::Column::AccountId)
                .from(seat::Entity)
                .and_where(seat::Column::OrganizationId.eq(self.0.id))
                .to_owned();
            sel = sel.filter(if h {
                membership::Column::AccountId.in_subquery(seated)
            } else {
                membership::Column::AccountId.not_in_subquery(seated)
            });
        }
        if let Some(s) = search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            if s.chars().count() > 254 {
                return Err(
                    AppError::bad_input(&["search"], "search is at most 254 characters").into(),
                );
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
        let total = TotalCount::of(c.state.db.conn.clone(), sel.clone());
        // One statement for the page, its seats and its accounts: a page
        // costs the same whatever its size, without depending on when the
        // dataloader's batching window closes. Only the columns the query
        // shows (look-ahead): each value a row carries costs a copy, an
        // allocation and a free in the driver, and the seat's and account's
        // keys are the membership's own.
        let want = PageColumns::shown_by(&ctx.look_ahead());
        let mut query = page
            .apply(sel, membership::Column::Id)
            .select_only()
            .columns(MEMBERSHIP_IN_ORG_COLUMNS);
        if want.seat != SeatColumns::None {
            query = query
                .join(JoinType::LeftJoin, membership::Relation::Seat.def())
                .column(seat::Column::AssignedAt);
            if want.seat == SeatColumns::Full {
                query = query
                    .column(seat::Column::Id)
                    .column(seat::Column::AssignedByAccountId)
                    .column(seat::Column::AssignedByServiceAccountId);
            }
        }
        let shown = want.account.unwrap_or(AccountCols::NONE);
        let account_columns = ACCOUNT_COLUMNS
            .into_iter()
            .filter(|(flag, _)| shown.has(*flag));
        if shown != AccountCols::NONE {
            query = query.join(JoinType::InnerJoin, membership::Relation::Account.def());
            for (_, col) in account_columns.clone() {
                query = query.column(col);
            }
        }
        let stmt = crate::db::inline_limit(query.build(c.state.db.backend()));
        let raw = c
            .state
            .db
            .conn
            .query_all_raw(stmt)
            .await
            .map_err(AppError::from)?;
        let org = self.0.id;
        // By position, in the order the columns were listed above.
        let decode = |r: &sea_orm::QueryResult| -> Result<Membership, sea_orm::DbErr> {
            let m = membership_in_org_at(r, 0, org)?;
            let mut i = MEMBERSHIP_IN_ORG_COLUMNS.len();
            let mut next = || {
                i += 1;
                i - 1
            };
            let seat = if want.seat == SeatColumns::None {
                KnownSeat::Unknown
            } else {
                let at: Option<DateTime<Utc>> = r.try_get_by_index(next())?;
                if want.seat == SeatColumns::Full {
                    let id: Option<Uuid> = r.try_get_by_index(next())?;
                    let by_account = r.try_get_by_index(next())?;
                    let by_service = r.try_get_by_index(next())?;
                    KnownSeat::Full(match (id, at) {
                        (Some(id), Some(assigned_at)) => Some(seat::Model {
                            id,
                            organization_id: org,
                            account_id: m.account_id,
                            assigned_at,
                            assigned_by_account_id: by_account,
                            assigned_by_service_account_id: by_service,
                        }),
                        _ => None,
                    })
                } else {
                    KnownSeat::AssignedAt(at)
                }
            };
            let account = match want.account {
                None => None,
                Some(loaded) => {
                    let mut v = AccountView {
                        id: m.account_id,
                        kind: crate::domain::AccountKind::Person,
                        email: None,
                        first_name: None,
                        last_name: None,
                        is_site_admin: false,
                        created_at: DateTime::<Utc>::UNIX_EPOCH,
                        loaded,
                    };
                    for (flag, _) in account_columns.clone() {
                        let at = next();
                        match flag {
                            AccountCols::KIND => v.kind = r.try_get_by_index(at)?,
                            AccountCols::EMAIL => v.email = r.try_get_by_index(at)?,
                            AccountCols::FIRST_NAME => v.first_name = r.try_get_by_index(at)?,
                            AccountCols::LAST_NAME => v.last_name = r.try_get_by_index(at)?,
                            AccountCols::IS_SITE_ADMIN => {
                                v.is_site_admin = r.try_get_by_index(at)?
                            }
                            _ => v.created_at = r.try_get_by_index(at)?,
                        }
                    }
                    Some(v)
                }
            };
            Ok(Membership::joined(m, seat, account))
        };
        let rows = raw
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::from)?;
        Ok(MembershipConnection::build(
            &page,
            rows,
            |m| m.model.id,
            |m| m,
            total,
        ))
    }

    async fn seats(&self) -> super::seat::SeatPool {
        super::seat::SeatPool::new(self.0.clone(), None)
    }

    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn service_accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::service_account::ServiceAccountConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(
            super::service_account::list(c, self.0.id, PageArgs::new(first, after, last, before))
                .await?,
        )
    }

    /// Sign-in links minted for this organization's members (its admins and site admins only).
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn sign_in_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::signin::SignInTokenConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(super::signin::list(c, self.0.id, PageArgs::new(first, after, last, before)).await?)
    }

    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn access_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        account: Option<ID>,
        active: Option<bool>,
    ) -> Result<super::token::AccessTokenConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(super::token::list(
            c,
            self.0.id,
            PageArgs::new(first, after, last, before),
            account,
            active,
        )
        .await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<InvitationStatus>,
    ) -> Result<super::invitation::InvitationConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(super::invitation::list(
            c,
            self.0.id,
            PageArgs::new(first, after, last, before),
            status.map(Into::into),
        )
        .await?)
    }

    /// Counts of what the organization uses right now.
    async fn resource_usage(&self, ctx: &Context<'_>) -> Result<super::usage::ResourceUsage> {
        let c = ctx.data::<Caller>()?;
        Ok(crate::domain::usage::resource_usage(c, self.0.id)
            .await?
            .into())
    }

    /// Metrics over time. start and end default to the current plan period; interval defaults to MONTH.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        metrics: Option<Vec<UsageMetric>>,
        #[graphql(default_with = "Some(UsageInterval::Month)")] interval: Option<UsageInterval>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<super::usage::UsageSeries>> {
        let c = ctx.data::<Caller>()?;
        let q = crate::domain::usage::UsageQuery {
            metrics: metrics.map(|m| m.into_iter().map(Into::into).collect()),
            interval: interval.unwrap_or(UsageInterval::Month).into(),
            start,
            end,
        };
        let series = crate::domain::usage::usage(c, &self.0, q).await?;
        Ok(series.into_iter().map(Into::into).collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        action: Option<String>,
        actor: Option<ID>,
    ) -> Result<super::audit::AuditEventConnection> {
        let c = ctx.data::<Caller>()?;
        let args = PageArgs::new(first, after, last, before);
        Ok(super::audit::list(c, self.0.id, args, action, actor).await?)
    }

    async fn member(&self, ctx: &Context<'_>, account: ID) -> Result<Option<Membership>> {
        let c = ctx.data::<Caller>()?;
        let Ok(account_id) = ids::decode(&account, NodeKind::Account, &["account"]) else {
            return Ok(None);
        };
        Ok(c.loaders
            .membership(self.0.id, account_id)
            .await?
            .map(|m| Membership::new(m, None)))
    }
}
