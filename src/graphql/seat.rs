//! Seats: the pool, assignments and the bulk seat mutations.

use async_graphql::parser::types::Field;
use async_graphql::{Context, InputObject, Object, Result, ScalarType, SimpleObject, Value, ID};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::pagination::{Page, PageArgs, TotalCount};
use super::plain::{Plain, Walk};
use super::user_error::UserError;
use crate::connection;
use crate::domain::organizations::seats_used;
use crate::domain::{seats, Caller};
use crate::entity::{organization, seat};
use crate::error::AppError;

#[derive(Clone)]
pub struct Seat {
    model: seat::Model,
    /// Whether `model`'s id and assigned_by columns were read: a members
    /// page whose query shows only `assignedAt` of a seat reads no more
    /// (`KnownSeat::AssignedAt`); `assignedBy` then loads the row.
    complete: bool,
}

impl From<seat::Model> for Seat {
    fn from(model: seat::Model) -> Self {
        Seat {
            model,
            complete: true,
        }
    }
}

impl Seat {
    /// A seat known only by whose it is and when it was assigned.
    pub fn assigned_at_only(organization_id: Uuid, account_id: Uuid, at: DateTime<Utc>) -> Self {
        Seat {
            model: seat::Model {
                id: Uuid::nil(),
                organization_id,
                account_id,
                assigned_at: at,
                assigned_by_account_id: None,
                assigned_by_service_account_id: None,
            },
            complete: false,
        }
    }
}

connection!(SeatConnection, SeatEdge, Seat);

/// A seat on the plain path (see `plain`): `assignedAt`; the accounts
/// need loaders.
pub struct SeatRow {
    pub assigned_at: DateTime<Utc>,
}

impl Plain for SeatRow {
    const TYPE: &'static str = "Seat";

    fn plain(&self, field: &Field, _: &Walk<'_>) -> Option<Value> {
        match field.name.node.as_str() {
            "assignedAt" => Some(self.assigned_at.to_value()),
            _ => None,
        }
    }
}

#[Object]
impl Seat {
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let c = ctx.data::<Caller>()?;
        let acc = c
            .loaders
            .account(self.model.account_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("seat without account")))?;
        Ok(Account::visible(acc))
    }
    async fn assigned_at(&self) -> DateTime<Utc> {
        self.model.assigned_at
    }
    async fn assigned_by(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        let by = if self.complete {
            self.model.assigned_by_account_id
        } else {
            c.loaders
                .seat(self.model.organization_id, self.model.account_id)
                .await?
                .and_then(|s| s.assigned_by_account_id)
        };
        let Some(by) = by else {
            return Ok(None);
        };
        let visible = super::account::can_see_account(c, by).await?;
        Ok(c.loaders.account(by).await?.map(|a| Account {
            model: a.into(),
            email_visible: visible,
        }))
    }
}

/// The organization's seats. `used` is known when a mutation just counted
/// it; otherwise it is counted once, on first ask, for `used` and
/// `available` together (one statement, not one per field).
pub struct SeatPool {
    pub org: organization::Model,
    used: tokio::sync::OnceCell<i64>,
}

impl SeatPool {
    pub fn new(org: organization::Model, used: Option<i64>) -> Self {
        SeatPool {
            org,
            used: tokio::sync::OnceCell::new_with(used),
        }
    }

    async fn used_now(&self, c: &Caller) -> Result<i64> {
        Ok(*self
            .used
            .get_or_try_init(|| seats_used(&c.state.db.conn, self.org.id))
            .await?)
    }
}

#[Object]
impl SeatPool {
    async fn limit(&self) -> i32 {
        self.org.seat_limit
    }
    async fn used(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.used_now(ctx.data::<Caller>()?).await? as i32)
    }
    async fn available(&self, ctx: &Context<'_>) -> Result<i32> {
        let used = self.used_now(ctx.data::<Caller>()?).await?;
        Ok((self.org.seat_limit as i64 - used).max(0) as i32)
    }
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn assignments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<SeatConnection> {
        let c = ctx.data::<Caller>()?;
        let page = Page::parse(
            &PageArgs::new(first, after, last, before),
            "Seat",
            c.state.cursor_key.clone(),
        )?;
        let sel = seat::Entity::find().filter(seat::Column::OrganizationId.eq(self.org.id));
        let total = TotalCount::of(c.state.db.conn.clone(), sel.clone());
        let rows = page
            .apply(sel, seat::Column::Id)
            .all(&c.state.db.conn)
            .await?;
        Ok(SeatConnection::build(
            &page,
            rows,
            |s| s.id,
            Seat::from,
            total,
        ))
    }
}

#[derive(InputObject)]
pub struct SeatAccountsInput {
    pub organization: ID,
    pub accounts: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct SeatResult {
    pub account: ID,
    pub seat: Option<Seat>,
    pub error: Option<UserError>,
}

#[derive(SimpleObject)]
pub struct SeatResultsPayload {
    pub results: Vec<SeatResult>,
    pub seats: SeatPool,
}

fn payload(batch: seats::SeatBatch) -> SeatResultsPayload {
    SeatResultsPayload {
        results: batch
            .outcomes
            .into_iter()
            .map(|o| match o.result {
                Ok(s) => SeatResult {
                    account: o.account,
                    seat: s.map(Seat::from),
                    error: None,
                },
                Err(e) => SeatResult {
                    account: o.account,
                    seat: None,
                    error: Some(UserError::from(&e)),
                },
            })
            .collect(),
        seats: SeatPool::new(batch.org, Some(batch.used)),
    }
}

#[derive(Default)]
pub struct SeatMutations;

#[Object]
impl SeatMutations {
    async fn assign_seats(
        &self,
        ctx: &Context<'_>,
        input: SeatAccountsInput,
    ) -> Result<SeatResultsPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        Ok(payload(seats::assign_seats(c, org, &input.accounts).await?))
    }

    async fn revoke_seats(
        &self,
        ctx: &Context<'_>,
        input: SeatAccountsInput,
    ) -> Result<SeatResultsPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        Ok(payload(seats::revoke_seats(c, org, &input.accounts).await?))
    }
}
