//! Seat objects.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use super::account::Account;
use crate::domain::Caller;
use crate::entity::seat;
use crate::error::AppError;

#[derive(Clone)]
pub struct Seat(pub seat::Model);

#[Object]
impl Seat {
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let c = ctx.data::<Caller>()?;
        let acc = c
            .loaders
            .account(self.0.account_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("seat without account")))?;
        Ok(Account::visible(acc))
    }
    async fn assigned_at(&self) -> DateTime<Utc> {
        self.0.assigned_at
    }
    async fn assigned_by(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(by) = self.0.assigned_by_account_id else {
            return Ok(None);
        };
        let c = ctx.data::<Caller>()?;
        Ok(c.loaders.account(by).await?.map(|a| Account {
            model: a,
            email_visible: false,
        }))
    }
}
