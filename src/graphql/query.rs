//! Query root.

use async_graphql::{Context, Interface, Object, Result, ID};

use super::account::Account;
use super::ids::{self, NodeKind};
use super::member::Membership;
use super::organization::{Organization, OrganizationConnection};
use super::pagination::{PageArgs, PageQuery};
use crate::domain::read::{
    accounts, audit, invitations, members, messages, organizations, service_accounts, signin,
    tokens,
};
use crate::domain::Caller;
use crate::error::{AppError, AppResult};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Account(Account),
    Organization(Organization),
    Membership(Membership),
    AccessToken(super::token::AccessToken),
    ServiceAccount(super::service_account::ServiceAccount),
    Invitation(super::invitation::Invitation),
    Message(super::message::Message),
    AuditEvent(super::audit::AuditEvent),
    SignInToken(super::signin::SignInToken),
}

#[derive(Default)]
pub struct QueryRoot;

async fn node_by_id(c: &Caller, id: &str) -> AppResult<Option<Node>> {
    let Some((kind, uuid)) = ids::parse(id) else {
        return Ok(None);
    };
    Ok(match kind {
        NodeKind::Organization => organizations::by_id(c, uuid)
            .await?
            .map(|o| Node::Organization(Organization(o))),
        NodeKind::Account => accounts::visible(c, uuid)
            .await?
            .map(|a| Node::Account(a.into())),
        NodeKind::Membership => members::node(c, uuid)
            .await?
            .map(|m| Node::Membership(Membership(m))),
        NodeKind::AccessToken => tokens::visible(c, uuid)
            .await?
            .map(|t| Node::AccessToken(super::token::AccessToken(t))),
        NodeKind::ServiceAccount => service_accounts::visible(c, uuid)
            .await?
            .map(|s| Node::ServiceAccount(super::service_account::ServiceAccount(s))),
        NodeKind::Invitation => invitations::node(c, uuid)
            .await?
            .map(|i| Node::Invitation(super::invitation::Invitation(i))),
        NodeKind::Message => messages::node(c, uuid)
            .await?
            .map(|m| Node::Message(super::message::Message(m))),
        NodeKind::AuditEvent => audit::visible(c, uuid)
            .await?
            .map(|e| Node::AuditEvent(super::audit::AuditEvent(e))),
        NodeKind::SignInToken => signin::visible(c, uuid)
            .await?
            .map(|l| Node::SignInToken(super::signin::SignInToken(l))),
    })
}

#[Object(name = "Query")]
impl QueryRoot {
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let c = ctx.data::<Caller>()?;
        Ok(node_by_id(c, &id).await?)
    }

    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        let c = ctx.data::<Caller>()?;
        if ids.len() > 100 {
            return Err(AppError::bad_input(&["ids"], "at most 100 ids").into());
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(node_by_id(c, id).await?);
        }
        Ok(out)
    }

    /// The signed-in account; null for a service-account token.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        Ok(accounts::viewer(c).await?.map(Into::into))
    }

    async fn organization(
        &self,
        ctx: &Context<'_>,
        handle: String,
    ) -> Result<Option<Organization>> {
        let c = ctx.data::<Caller>()?;
        Ok(organizations::by_handle(c, handle).await?.map(Organization))
    }

    /// Organizations the caller belongs to; with all: true (site admins only) every organization.
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] all: Option<bool>,
    ) -> Result<OrganizationConnection> {
        let c = ctx.data::<Caller>()?;
        let q = PageQuery::parse(
            &PageArgs::new(first, after, last, before),
            "Organization",
            c.services.cursor_key.clone(),
        )?;
        let page = organizations::list(c, all.unwrap_or(false), &q.request).await?;
        Ok(OrganizationConnection::build(
            &q,
            page,
            |o| o.id,
            Organization,
        ))
    }

    /// Looks an invitation up by its token without using it (what an accept page shows).
    async fn invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<Option<super::invitation::Invitation>> {
        let c = ctx.data::<Caller>()?;
        Ok(crate::domain::invitation_accept::find_by_token(c, &token)
            .await?
            .map(super::invitation::Invitation))
    }

    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        let Ok(uuid) = ids::decode(&id, NodeKind::Account, &["id"]) else {
            return Ok(None);
        };
        Ok(accounts::visible(c, uuid).await?.map(Into::into))
    }
}
