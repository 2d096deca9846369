//! Query root.

use std::collections::HashMap;

use async_graphql::{Context, Interface, Object, Result, ID};
use uuid::Uuid;

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

#[derive(Interface, Clone)]
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
    Ok(nodes_by_ids(c, std::slice::from_ref(&ID(id.to_string())))
        .await?
        .pop()
        .flatten())
}

/// Nodes in the order of `ids`, null for what the caller may not see:
/// one read per kind of node asked for, whatever the number of ids.
async fn nodes_by_ids(c: &Caller, ids: &[ID]) -> AppResult<Vec<Option<Node>>> {
    let parsed: Vec<Option<(NodeKind, Uuid)>> = ids.iter().map(|id| ids::parse(id)).collect();
    let of_kind = |kind: NodeKind| -> Vec<Uuid> {
        parsed
            .iter()
            .flatten()
            .filter(|(k, _)| *k == kind)
            .map(|(_, u)| *u)
            .collect()
    };
    let mut found: HashMap<(NodeKind, Uuid), Node> = HashMap::new();
    for kind in NodeKind::ALL {
        let wanted = of_kind(kind);
        if wanted.is_empty() {
            continue;
        }
        let mut put = |id: Uuid, n: Node| {
            found.insert((kind, id), n);
        };
        match kind {
            NodeKind::Organization => {
                for (id, o) in organizations::by_ids(c, wanted).await? {
                    put(id, Node::Organization(Organization(o)));
                }
            }
            NodeKind::Account => {
                for (id, a) in accounts::visible_many(c, wanted).await? {
                    put(id, Node::Account(a.into()));
                }
            }
            NodeKind::Membership => {
                for (id, m) in members::node_many(c, wanted).await? {
                    put(id, Node::Membership(Membership(m)));
                }
            }
            NodeKind::AccessToken => {
                for (id, t) in tokens::visible_many(c, wanted).await? {
                    put(id, Node::AccessToken(super::token::AccessToken(t)));
                }
            }
            NodeKind::ServiceAccount => {
                for (id, s) in service_accounts::visible_many(c, wanted).await? {
                    put(
                        id,
                        Node::ServiceAccount(super::service_account::ServiceAccount(s)),
                    );
                }
            }
            NodeKind::Invitation => {
                for (id, i) in invitations::node_many(c, wanted).await? {
                    put(id, Node::Invitation(super::invitation::Invitation(i)));
                }
            }
            NodeKind::Message => {
                for (id, m) in messages::node_many(c, wanted).await? {
                    put(id, Node::Message(super::message::Message(m)));
                }
            }
            NodeKind::AuditEvent => {
                for (id, e) in audit::visible_many(c, wanted).await? {
                    put(id, Node::AuditEvent(super::audit::AuditEvent(e)));
                }
            }
            NodeKind::SignInToken => {
                for (id, l) in signin::visible_many(c, wanted).await? {
                    put(id, Node::SignInToken(super::signin::SignInToken(l)));
                }
            }
        }
    }
    // An id asked for twice is the same node twice.
    Ok(parsed
        .into_iter()
        .map(|p| p.and_then(|key| found.get(&key).cloned()))
        .collect())
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
        Ok(nodes_by_ids(c, &ids).await?)
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
