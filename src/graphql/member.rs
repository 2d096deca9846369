//! Membership objects and the members connection (its plain path is in
//! members_page.rs).

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use super::account::Account;
use super::enums::Role;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::seat::Seat;
use crate::connection;
use crate::domain::read::members::{self, MemberRow};
use crate::domain::Caller;

#[derive(Clone)]
pub struct Membership(pub MemberRow);

connection!(MembershipConnection, MembershipEdge, Membership, plain);

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Membership, self.0.membership.id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Organization::load(ctx, self.0.membership.organization_id).await
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let c = ctx.data::<Caller>()?;
        Ok(Account(members::account(c, &self.0).await?))
    }
    async fn role(&self) -> Role {
        self.0.membership.role.into()
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.membership.created_at
    }
    /// Null when the member holds no seat.
    async fn seat(&self, ctx: &Context<'_>) -> Result<Option<Seat>> {
        let c = ctx.data::<Caller>()?;
        Ok(members::seat(c, &self.0).await?.map(Seat))
    }
}
