//! Membership objects and the members connection.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use super::account::{Account, AccountView};
use super::ids;
use super::organization::Organization;
use crate::connection;
use crate::domain::{Caller, Role};
use crate::entity::{membership, seat};
use crate::error::AppError;

#[derive(Clone)]
pub struct Membership {
    pub model: membership::Model,
    /// The seat, when the query that produced this row already joined it.
    pub seat: Option<Option<seat::Model>>,
    /// The account, when the query that produced this row already joined it.
    pub account: Option<Arc<AccountView>>,
}

impl Membership {
    pub fn new(model: membership::Model, seat: Option<Option<seat::Model>>) -> Self {
        Membership {
            model,
            seat,
            account: None,
        }
    }

    pub fn with_account(mut self, account: AccountView) -> Self {
        self.account = Some(Arc::new(account));
        self
    }
}

connection!(MembershipConnection, MembershipEdge, Membership);

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        ids::encode("Membership", self.model.id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Organization::load(ctx, self.model.organization_id).await
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        if let Some(acc) = &self.account {
            return Ok(Account::visible(acc.as_ref().clone()));
        }
        let c = ctx.data::<Caller>()?;
        let acc = c
            .loaders
            .account(self.model.account_id)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("membership without account")))?;
        // Whoever sees a membership sees the organization it is in.
        Ok(Account::visible(acc))
    }
    async fn role(&self) -> Role {
        Role::from_db(&self.model.role)
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// Null when the member holds no seat.
    async fn seat(&self, ctx: &Context<'_>) -> Result<Option<super::seat::Seat>> {
        let s = match &self.seat {
            Some(known) => known.clone(),
            None => {
                let c = ctx.data::<Caller>()?;
                c.loaders
                    .seat(self.model.organization_id, self.model.account_id)
                    .await?
            }
        };
        Ok(s.map(super::seat::Seat))
    }
}
