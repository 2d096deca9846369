//! Membership objects and the members connection.

use std::sync::Arc;

use async_graphql::parser::types::Field;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Object, Result, ScalarType, Value, ID};
use chrono::{DateTime, Utc};

use super::account::{Account, AccountRow, AccountView};
use super::enums::Role;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::plain::{Plain, Walk};
use super::seat::{Seat, SeatRow};
use crate::connection;
use crate::domain::Caller;
use crate::entity::{membership, seat};
use crate::error::AppError;

#[derive(Clone)]
pub struct Membership {
    pub model: membership::Model,
    /// What the query that produced this row read of the member's seat.
    pub seat: KnownSeat,
    /// The account, when the query that produced this row already joined
    /// it (maybe only some of its columns: `AccountView::loaded`).
    pub account: Option<Arc<AccountView>>,
}

/// What a membership row carries of its seat before any loader runs.
#[derive(Clone)]
pub enum KnownSeat {
    /// Not read: the `seat` resolver asks the loader.
    Unknown,
    /// The seat row (None: the member holds no seat).
    Full(Option<seat::Model>),
    /// Only whether there is one and since when: a members page whose
    /// query shows nothing else of the seat reads no more (the `Seat`
    /// object loads the row if asked for more all the same).
    AssignedAt(Option<DateTime<Utc>>),
}

impl Membership {
    pub fn new(model: membership::Model, seat: Option<Option<seat::Model>>) -> Self {
        Membership {
            model,
            seat: seat.map_or(KnownSeat::Unknown, KnownSeat::Full),
            account: None,
        }
    }

    /// A members-page row: what its one statement read.
    pub fn joined(model: membership::Model, seat: KnownSeat, account: Option<AccountView>) -> Self {
        Membership {
            model,
            seat,
            account: account.map(Arc::new),
        }
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
            "id" => Value::String(ids::encode(NodeKind::Membership, self.model.id).0),
            "role" => enum_value(Role::from(self.model.role)),
            "joinedAt" => self.model.created_at.to_value(),
            "seat" => {
                let at = match &self.seat {
                    KnownSeat::Unknown => return None,
                    KnownSeat::Full(s) => s.as_ref().map(|s| s.assigned_at),
                    KnownSeat::AssignedAt(at) => *at,
                };
                match at {
                    None => Value::Null,
                    Some(assigned_at) => {
                        walk.object(&SeatRow { assigned_at }, &field.selection_set.node)?
                    }
                }
            }
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
        ids::encode(NodeKind::Membership, self.model.id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Organization::load(ctx, self.model.organization_id).await
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        // A view may hold only the columns the query shows; the Account
        // object loads the row for any other (see `Account::view`).
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
        self.model.role.into()
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// Null when the member holds no seat.
    async fn seat(&self, ctx: &Context<'_>) -> Result<Option<Seat>> {
        let (org, account) = (self.model.organization_id, self.model.account_id);
        Ok(match &self.seat {
            KnownSeat::Full(known) => known.clone().map(Seat::from),
            KnownSeat::AssignedAt(at) => at.map(|at| Seat::assigned_at_only(org, account, at)),
            KnownSeat::Unknown => {
                let c = ctx.data::<Caller>()?;
                c.loaders.seat(org, account).await?.map(Seat::from)
            }
        })
    }
}
