//! Membership objects and the members connection.

use std::sync::Arc;

use async_graphql::parser::types::Field;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Object, Result, ScalarType, Value, ID};
use chrono::{DateTime, Utc};

use super::account::{Account, AccountRow, AccountView};
use super::ids;
use super::organization::Organization;
use super::plain::{Plain, Walk};
use super::seat::SeatRow;
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

connection!(MembershipConnection, MembershipEdge, Membership, plain);

/// The plain path (see `plain`): the same values as the resolvers below,
/// for the fields that need no loader; `organization`, and `seat` or
/// `account` when the row did not join them, need the resolvers.
impl Plain for Membership {
    const TYPE: &'static str = "Membership";

    fn plain(&self, field: &Field, walk: &Walk<'_>) -> Option<Value> {
        Some(match field.name.node.as_str() {
            "id" => Value::String(ids::encode("Membership", self.model.id).0),
            "role" => enum_value(Role::from_db(&self.model.role)),
            "joinedAt" => self.model.created_at.to_value(),
            "seat" => match self.seat.as_ref()? {
                None => Value::Null,
                Some(s) => walk.object(&SeatRow(s), &field.selection_set.node)?,
            },
            // Whoever sees a membership sees the organization it is in.
            "account" => walk.object(
                &AccountRow {
                    view: self.account.as_deref()?,
                    email_visible: true,
                },
                &field.selection_set.node,
            )?,
            _ => return None,
        })
    }
}

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
