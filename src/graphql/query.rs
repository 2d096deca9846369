//! Query root.

use async_graphql::{Context, Interface, Object, Result, ID};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as SqlQuery, SubQueryStatement};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::account::{can_see_account, Account};
use super::ids::{self, NodeKind};
use super::member::Membership;
use super::organization::{Organization, OrganizationConnection};
use super::pagination::{Page, PageArgs, TotalCount};
use crate::auth::Principal;
use crate::domain::authz::standing;
use crate::domain::{Caller, Role};
use crate::entity::{membership, organization};
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

#[derive(FromQueryResult)]
struct OrgWithRole {
    #[sea_orm(nested)]
    org: organization::Model,
    viewer_role: Option<Role>,
}

/// The organization and the caller's role in it, in one statement.
pub async fn org_by(c: &Caller, filter: sea_orm::Condition) -> AppResult<Option<Organization>> {
    let mut sel = organization::Entity::find().filter(filter);
    let viewer = c.principal.account_id().unwrap_or(Uuid::nil());
    let sub = SqlQuery::select()
        .column((Alias::new("vm"), membership::Column::Role))
        .from_as(membership::Entity, Alias::new("vm"))
        .and_where(
            Expr::col((Alias::new("vm"), membership::Column::OrganizationId))
                .equals((organization::Entity, organization::Column::Id)),
        )
        .and_where(Expr::col((Alias::new("vm"), membership::Column::AccountId)).eq(viewer))
        .to_owned();
    sel = sel.column_as(
        Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(sub))),
        "viewer_role",
    );
    let Some(row) = crate::db::first::<OrgWithRole>(&c.state.db.conn, &sel.limit(1)).await? else {
        return Ok(None);
    };
    c.loaders.set_viewer_role(row.org.id, row.viewer_role);
    let st = standing(c, row.org.id).await?;
    if !st.visible() {
        return Ok(None);
    }
    c.loaders.prime_organization(row.org.clone()).await;
    Ok(Some(Organization(row.org)))
}

pub async fn visible_org(c: &Caller, id: Uuid) -> AppResult<Option<Organization>> {
    org_by(
        c,
        sea_orm::Condition::all().add(organization::Column::Id.eq(id)),
    )
    .await
}

async fn node_by_id(c: &Caller, id: &str) -> AppResult<Option<Node>> {
    let Some((kind, uuid)) = ids::parse(id) else {
        return Ok(None);
    };
    Ok(match kind {
        NodeKind::Organization => visible_org(c, uuid).await?.map(Node::Organization),
        NodeKind::Account => {
            if can_see_account(c, uuid).await? {
                c.loaders
                    .account(uuid)
                    .await?
                    .map(|a| Node::Account(Account::visible(a)))
            } else {
                None
            }
        }
        NodeKind::Membership => {
            let Some(m) = membership::Entity::find_by_id(uuid)
                .one(&c.state.db.conn)
                .await?
            else {
                return Ok(None);
            };
            if standing(c, m.organization_id).await?.visible() {
                Some(Node::Membership(Membership::new(m, None)))
            } else {
                None
            }
        }
        NodeKind::AccessToken => super::token::visible(c, uuid).await?.map(Node::AccessToken),
        NodeKind::ServiceAccount => super::service_account::visible(c, uuid)
            .await?
            .map(Node::ServiceAccount),
        NodeKind::Invitation => super::invitation::node(c, uuid)
            .await?
            .map(Node::Invitation),
        NodeKind::Message => super::message::node(c, uuid).await?.map(Node::Message),
        NodeKind::AuditEvent => super::audit::visible(c, uuid).await?.map(Node::AuditEvent),
        NodeKind::SignInToken => crate::domain::signin::visible(c, uuid)
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
        match &c.principal {
            Principal::Anonymous => Err(AppError::Unauthenticated.into()),
            Principal::Service { .. } => Ok(None),
            Principal::Person { account_id, .. } => {
                Ok(c.loaders.account(*account_id).await?.map(Account::visible))
            }
        }
    }

    async fn organization(
        &self,
        ctx: &Context<'_>,
        handle: String,
    ) -> Result<Option<Organization>> {
        let c = ctx.data::<Caller>()?;
        if c.principal.is_anonymous() || handle.len() > 39 {
            return Ok(None);
        }
        Ok(org_by(
            c,
            sea_orm::Condition::all().add(organization::Column::Handle.eq(handle)),
        )
        .await?)
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
        let all = all.unwrap_or(false);
        let page = Page::parse(
            &PageArgs::new(first, after, last, before),
            "Organization",
            c.state.cursor_key.clone(),
        )?;
        let mut sel = organization::Entity::find();
        match &c.principal {
            Principal::Anonymous => return Err(AppError::Unauthenticated.into()),
            Principal::Person {
                site_admin,
                account_id,
                scope,
                ..
            } => {
                if all && !site_admin {
                    return Err(AppError::Forbidden("all: true is for site admins").into());
                }
                if let Some(s) = scope {
                    sel = sel.filter(organization::Column::Id.eq(s.organization_id));
                }
                if !all {
                    sel = sel.filter(
                        organization::Column::Id.in_subquery(
                            SqlQuery::select()
                                .column(membership::Column::OrganizationId)
                                .from(membership::Entity)
                                .and_where(membership::Column::AccountId.eq(*account_id))
                                .to_owned(),
                        ),
                    );
                }
            }
            Principal::Service {
                organization_id, ..
            } => {
                if all {
                    return Err(AppError::Forbidden("all: true is for site admins").into());
                }
                sel = sel.filter(organization::Column::Id.eq(*organization_id));
            }
        }
        let total = TotalCount::of(c.state.db.conn.clone(), sel.clone());
        let rows = page
            .apply(sel, organization::Column::Id)
            .all(&c.state.db.conn)
            .await?;
        for r in &rows {
            c.loaders.prime_organization(r.clone()).await;
        }
        Ok(OrganizationConnection::build(
            &page,
            rows,
            |o| o.id,
            Organization,
            total,
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
        if !can_see_account(c, uuid).await? {
            return Ok(None);
        }
        Ok(c.loaders.account(uuid).await?.map(Account::visible))
    }
}
