//! Service accounts and temporary sign-in tokens in GraphQL.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::pagination::{PageArgs, PageQuery};
use crate::connection;
use crate::domain::read::{accounts, service_accounts as read, signin as read_signin};
use crate::domain::{service_accounts, signin, Caller};
use crate::entity::service_account;
use crate::error::AppResult;

#[derive(Clone)]
pub struct ServiceAccount(pub service_account::Model);

connection!(ServiceAccountConnection, ServiceAccountEdge, ServiceAccount);

#[Object]
impl ServiceAccount {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::ServiceAccount, self.0.id)
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Organization::load(ctx, self.0.organization_id).await
    }
    /// 1-64 chars of a-z, 0-9, '-' and '_'; unique in its organization.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        let by = self.0.created_by_account_id;
        Ok(accounts::named(c, by).await?.map(Into::into))
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
}

/// `Organization.serviceAccounts`: site admins and org ADMINs only.
pub async fn list(c: &Caller, org_id: Uuid, args: PageArgs) -> AppResult<ServiceAccountConnection> {
    let q = PageQuery::parse(&args, "ServiceAccount", c.services.cursor_key.clone())?;
    let page = read::list(c, org_id, &q.request).await?;
    Ok(ServiceAccountConnection::build(
        &q,
        page,
        |s| s.id,
        ServiceAccount,
    ))
}

#[derive(InputObject)]
pub struct CreateServiceAccountInput {
    pub organization: ID,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct CreateServiceAccountPayload {
    pub service_account: ServiceAccount,
    pub client_secret: String,
}

#[derive(InputObject)]
pub struct ServiceAccountIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteServiceAccountPayload {
    pub deleted_id: ID,
}

#[derive(InputObject)]
pub struct CreateSignInTokenInput {
    pub account: ID,
    #[graphql(default = 3600)]
    pub expires_in_seconds: Option<i32>,
    /// The one organization the link's session may act in (the caller is its ADMIN, the account a member below ADMIN). Default: the account's oldest such membership.
    pub organization: Option<ID>,
}

#[derive(SimpleObject)]
pub struct CreateSignInTokenPayload {
    pub token: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub sign_in_token: super::signin::SignInToken,
}

/// Name the link by its secret or by its id (exactly one).
#[derive(InputObject)]
pub struct ExpireSignInTokenInput {
    pub token: Option<String>,
    pub id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct ExpireSignInTokenPayload {
    pub expired: bool,
}

#[derive(Default)]
pub struct ServiceAccountMutations;

#[Object]
impl ServiceAccountMutations {
    async fn create_service_account(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceAccountInput,
    ) -> Result<CreateServiceAccountPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let (sa, client_secret) = service_accounts::create(c, org, &input.name).await?;
        Ok(CreateServiceAccountPayload {
            service_account: ServiceAccount(sa),
            client_secret,
        })
    }

    async fn rotate_service_account_secret(
        &self,
        ctx: &Context<'_>,
        input: ServiceAccountIdInput,
    ) -> Result<CreateServiceAccountPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(&input.id, NodeKind::ServiceAccount, &["id"])?;
        let (sa, client_secret) = service_accounts::rotate(c, id).await?;
        Ok(CreateServiceAccountPayload {
            service_account: ServiceAccount(sa),
            client_secret,
        })
    }

    async fn delete_service_account(
        &self,
        ctx: &Context<'_>,
        input: ServiceAccountIdInput,
    ) -> Result<DeleteServiceAccountPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(&input.id, NodeKind::ServiceAccount, &["id"])?;
        let gone = service_accounts::delete(c, id).await?;
        Ok(DeleteServiceAccountPayload {
            deleted_id: ids::encode(NodeKind::ServiceAccount, gone),
        })
    }

    /// An organization's ADMIN (or a site admin): a reusable sign-in link for a member below ADMIN, whose session acts in that organization only.
    async fn create_sign_in_token(
        &self,
        ctx: &Context<'_>,
        input: CreateSignInTokenInput,
    ) -> Result<CreateSignInTokenPayload> {
        let c = ctx.data::<Caller>()?;
        let account = ids::decode(&input.account, NodeKind::Account, &["account"])?;
        let organization = input
            .organization
            .as_ref()
            .map(|o| ids::decode(o, NodeKind::Organization, &["organization"]))
            .transpose()?;
        let minted = signin::create(
            c,
            account,
            organization,
            input.expires_in_seconds.unwrap_or(3600),
        )
        .await?;
        let url = format!("{}/signin/{}", c.services.config.public_url(), minted.token);
        let link = read_signin::visible(c, minted.id)
            .await?
            .ok_or(crate::error::AppError::NotFound)?;
        Ok(CreateSignInTokenPayload {
            token: minted.token,
            url,
            expires_at: minted.expires_at,
            sign_in_token: super::signin::SignInToken(link),
        })
    }

    async fn expire_sign_in_token(
        &self,
        ctx: &Context<'_>,
        input: ExpireSignInTokenInput,
    ) -> Result<ExpireSignInTokenPayload> {
        let c = ctx.data::<Caller>()?;
        let which = match (input.token, input.id) {
            (Some(t), None) => signin::LinkRef::Secret(t),
            (None, Some(id)) => {
                signin::LinkRef::Id(ids::decode(&id, NodeKind::SignInToken, &["id"])?)
            }
            _ => {
                return Err(crate::error::AppError::bad_input(
                    &["token"],
                    "give exactly one of token and id",
                )
                .into())
            }
        };
        Ok(ExpireSignInTokenPayload {
            expired: signin::expire(c, which).await?,
        })
    }
}
