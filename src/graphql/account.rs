//! Account objects. Who sees which account and its email is decided by the
//! domain read that built the view (domain/read/accounts.rs).

use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};

use super::enums::AccountKind;
use super::ids::{self, NodeKind};
use super::member::{Membership, MembershipConnection};
use super::pagination::{PageArgs, PageQuery};
use crate::domain::read::accounts::{self, AccountView};
use crate::domain::read::members;
use crate::domain::Caller;
use crate::error::AppError;

#[derive(Clone)]
pub struct Account(pub Arc<AccountView>);

impl From<AccountView> for Account {
    fn from(v: AccountView) -> Self {
        Account(Arc::new(v))
    }
}

impl Account {
    /// A field of the view, or of the whole row when the view lacks it
    /// (a members page's view lacks what its query does not show; the
    /// viewer's has only its id).
    async fn field<T>(
        &self,
        ctx: &Context<'_>,
        get: impl Fn(&AccountView) -> Option<T>,
    ) -> Result<T> {
        if let Some(v) = get(&self.0) {
            return Ok(v);
        }
        let whole = accounts::whole(ctx.data::<Caller>()?, self.0.id).await?;
        get(&whole)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("a whole account lacks a field")))
            .map_err(Into::into)
    }
}

#[Object]
impl Account {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Account, self.0.id)
    }
    async fn kind(&self, ctx: &Context<'_>) -> Result<AccountKind> {
        self.field(ctx, |v| v.kind.map(AccountKind::from)).await
    }
    /// Null for MANAGED accounts.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.field(ctx, |v| v.email.clone()).await
    }
    async fn first_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.field(ctx, |v| v.first_name.clone()).await
    }
    async fn last_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.field(ctx, |v| v.last_name.clone()).await
    }
    async fn is_site_admin(&self, ctx: &Context<'_>) -> Result<bool> {
        self.field(ctx, |v| v.is_site_admin).await
    }
    async fn created_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        self.field(ctx, |v| v.created_at).await
    }
    /// In-app messages sent to this account (see messageMembers); only the account itself reads them.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::message::MessageConnection> {
        let c = ctx.data::<Caller>()?;
        let args = PageArgs::new(first, after, last, before);
        Ok(super::message::inbox(c, self.0.id, args).await?)
    }
    /// The account's memberships in organizations the caller can see.
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<MembershipConnection> {
        let c = ctx.data::<Caller>()?;
        let q = PageQuery::parse(
            &PageArgs::new(first, after, last, before),
            "Membership",
            c.services.cursor_key.clone(),
        )?;
        let page = members::of_account(c, self.0.id, &q.request).await?;
        Ok(MembershipConnection::build(
            &q,
            page,
            |m| m.id(),
            Membership,
        ))
    }
}
