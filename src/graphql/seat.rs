//! Seats: the pool, assignments and the bulk seat mutations.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::account::Account;
use super::ids::{self, NodeKind};
use super::pagination::{PageArgs, PageQuery};
use super::user_error::UserError;
use crate::connection;
use crate::domain::read::seats::{self as read, SeatView};
use crate::domain::{seats, Caller};
use crate::entity::organization;

#[derive(Clone)]
pub struct Seat(pub SeatView);

connection!(SeatConnection, SeatEdge, Seat);

#[Object]
impl Seat {
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let c = ctx.data::<Caller>()?;
        Ok(read::holder(c, &self.0).await?.into())
    }
    async fn assigned_at(&self) -> DateTime<Utc> {
        self.0.assigned_at()
    }
    async fn assigned_by(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        Ok(read::assigned_by(c, &self.0).await?.map(Into::into))
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
            .get_or_try_init(|| read::used(c, self.org.id))
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
        let q = PageQuery::parse(
            &PageArgs::new(first, after, last, before),
            "Seat",
            c.services.cursor_key.clone(),
        )?;
        let page = read::assignments(c, self.org.id, &q.request).await?;
        Ok(SeatConnection::build(
            &q,
            page,
            |s| s.id,
            |s| Seat(s.into()),
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

/// The organization of a bulk seat call, and each requested id read as an
/// account id (a malformed one is that item's BAD_USER_INPUT, at
/// `accounts.<i>`).
fn seat_input(input: &SeatAccountsInput) -> Result<(uuid::Uuid, Vec<seats::AccountItem>)> {
    let org = ids::decode(
        &input.organization,
        NodeKind::Organization,
        &["organization"],
    )?;
    let items = input
        .accounts
        .iter()
        .enumerate()
        .map(|(i, id)| ids::decode(id, NodeKind::Account, &["accounts", &i.to_string()]))
        .collect();
    Ok((org, items))
}

/// The domain's outcomes, in input order, paired back with the input ids.
fn payload(accounts: Vec<ID>, batch: seats::SeatBatch) -> SeatResultsPayload {
    SeatResultsPayload {
        results: accounts
            .into_iter()
            .zip(batch.outcomes)
            .map(|(account, o)| match o {
                Ok(s) => SeatResult {
                    account,
                    seat: s.map(|s| Seat(s.into())),
                    error: None,
                },
                Err(e) => SeatResult {
                    account,
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
        let (org, items) = seat_input(&input)?;
        Ok(payload(
            input.accounts,
            seats::assign_seats(c, org, items).await?,
        ))
    }

    async fn revoke_seats(
        &self,
        ctx: &Context<'_>,
        input: SeatAccountsInput,
    ) -> Result<SeatResultsPayload> {
        let c = ctx.data::<Caller>()?;
        let (org, items) = seat_input(&input)?;
        Ok(payload(
            input.accounts,
            seats::revoke_seats(c, org, items).await?,
        ))
    }
}
