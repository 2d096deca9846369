//! Sign-in links as an organization's admins see them: who, by whom, when
//! — never the secret (only its hash is stored).

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::pagination::{PageArgs, PageQuery};
use crate::connection;
use crate::domain::read::{accounts, signin};
use crate::domain::Caller;
use crate::entity::sign_in_token;
use crate::error::AppResult;

#[derive(Clone)]
pub struct SignInToken(pub sign_in_token::Model);

connection!(SignInTokenConnection, SignInTokenEdge, SignInToken);

async fn account(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<Account>> {
    let c = ctx.data::<Caller>()?;
    Ok(accounts::named(c, id).await?.map(Into::into))
}

/// A temporary sign-in link: an admin's session as one member, in one organization.
#[Object]
impl SignInToken {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::SignInToken, self.0.id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        match self.0.organization_id {
            Some(o) => Ok(Some(Organization::load(ctx, o).await?)),
            None => Ok(None),
        }
    }
    /// The member the link signs in as.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        account(ctx, Some(self.0.account_id)).await
    }
    /// The admin who minted it (the session's actor).
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        account(ctx, self.0.created_by_account_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// When it was expired by hand (or by removing its minter or target).
    async fn expired_at(&self) -> Option<DateTime<Utc>> {
        self.0.expired_at
    }
    /// Last redemption or request of its session (written in batches).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// Not expired and before its expiry.
    async fn active(&self, ctx: &Context<'_>) -> Result<bool> {
        let now = ctx.data::<Caller>()?.now();
        Ok(signin::is_active(&self.0, now))
    }
}

/// `Organization.signInTokens`.
pub async fn list(c: &Caller, org_id: Uuid, args: PageArgs) -> AppResult<SignInTokenConnection> {
    let q = PageQuery::parse(&args, "SignInToken", c.services.cursor_key.clone())?;
    let page = signin::list(c, org_id, &q.request).await?;
    Ok(SignInTokenConnection::build(
        &q,
        page,
        |l| l.id,
        SignInToken,
    ))
}
