//! Access tokens in GraphQL: the object, the organization's list, and the
//! issue/revoke/sync mutations.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::pagination::{PageArgs, PageQuery};
use crate::connection;
use crate::domain::read::{accounts, tokens as read};
use crate::domain::{tokens, Caller};
use crate::entity::access_token;
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct AccessToken(pub access_token::Model);

connection!(AccessTokenConnection, AccessTokenEdge, AccessToken);

#[Object]
impl AccessToken {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::AccessToken, self.0.id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Organization::load(ctx, self.0.organization_id).await
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let c = ctx.data::<Caller>()?;
        // A token outlives its holder's membership (revoked, kept): its
        // email shows only to those who still share an organization with
        // the holder (red-team finding, issue 16).
        let acc = accounts::named(c, Some(self.0.account_id))
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(acc.into())
    }
    /// Name chosen at issue time.
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// The first characters of the secret, enough to recognise it; the secret itself is shown once.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn scopes(&self) -> Vec<String> {
        serde_json::from_str(&self.0.scopes).unwrap_or_default()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn active(&self, ctx: &Context<'_>) -> Result<bool> {
        let c = ctx.data::<Caller>()?;
        Ok(read::is_active(&self.0, c.now()))
    }
}

/// `Organization.accessTokens`: admins see all; others only their own.
pub async fn list(
    c: &Caller,
    org_id: Uuid,
    args: PageArgs,
    account: Option<ID>,
    active: Option<bool>,
) -> AppResult<AccessTokenConnection> {
    let q = PageQuery::parse(&args, "AccessToken", c.services.cursor_key.clone())?;
    // Before the account's ID: a caller who may not list learns nothing of it.
    read::may_list(c, org_id).await?;
    let account = account
        .as_ref()
        .map(|a| ids::decode(a, NodeKind::Account, &["account"]))
        .transpose()?;
    let filter = read::TokenFilter { account, active };
    let page = read::list(c, org_id, &q.request, &filter).await?;
    Ok(AccessTokenConnection::build(
        &q,
        page,
        |t| t.id,
        AccessToken,
    ))
}

#[derive(InputObject)]
pub struct IssueAccessTokenInput {
    pub organization: ID,
    pub account: Option<ID>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct IssueAccessTokenPayload {
    pub access_token: AccessToken,
    pub secret: String,
}

#[derive(InputObject)]
pub struct RevokeAccessTokenInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeAccessTokenPayload {
    pub access_token: AccessToken,
}

#[derive(InputObject)]
pub struct SyncAccessTokensInput {
    pub organization: ID,
    pub accounts: Option<Vec<ID>>,
}

#[derive(SimpleObject)]
pub struct SyncAccessTokensPayload {
    pub updated: i32,
}

#[derive(Default)]
pub struct TokenMutations;

#[Object]
impl TokenMutations {
    /// Issue an access token to a seated member (default: the caller). The secret is in the payload, once.
    async fn issue_access_token(
        &self,
        ctx: &Context<'_>,
        input: IssueAccessTokenInput,
    ) -> Result<IssueAccessTokenPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let account = input
            .account
            .as_ref()
            .map(|a| ids::decode(a, NodeKind::Account, &["account"]))
            .transpose()?;
        let (t, secret) = tokens::issue_access_token(
            c,
            org,
            tokens::IssueToken {
                account,
                name: input.name,
                scopes: input.scopes,
                expires_at: input.expires_at,
            },
        )
        .await?;
        Ok(IssueAccessTokenPayload {
            access_token: AccessToken(t),
            secret,
        })
    }

    async fn revoke_access_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeAccessTokenInput,
    ) -> Result<RevokeAccessTokenPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(&input.id, NodeKind::AccessToken, &["id"])?;
        Ok(RevokeAccessTokenPayload {
            access_token: AccessToken(tokens::revoke_access_token(c, id).await?),
        })
    }

    /// Extend active tokens' expiry to the current plan's end.
    async fn sync_access_tokens(
        &self,
        ctx: &Context<'_>,
        input: SyncAccessTokensInput,
    ) -> Result<SyncAccessTokensPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let accounts = input
            .accounts
            .map(|v| {
                v.iter()
                    .enumerate()
                    .map(|(i, a)| ids::decode(a, NodeKind::Account, &["accounts", &i.to_string()]))
                    .collect::<AppResult<Vec<_>>>()
            })
            .transpose()?;
        let updated = tokens::sync_access_tokens(c, org, accounts).await?;
        Ok(SyncAccessTokensPayload {
            updated: updated as i32,
        })
    }
}
