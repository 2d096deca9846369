//! Organization objects and their plan, settings and members.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::enums::{InvitationStatus, Role, UsageInterval, UsageMetric};
use super::ids::{self, NodeKind};
use super::member::{Membership, MembershipConnection};
use super::pagination::{PageArgs, PageQuery};
use super::scalars::Date;
use crate::connection;
use crate::domain::read::members_page::{self, MembersFilter};
use crate::domain::read::{members, organizations};
use crate::domain::Caller;
use crate::entity::organization;

#[derive(Clone)]
pub struct Organization(pub organization::Model);

impl Organization {
    /// The organization an object belongs to, through the request's loader.
    /// Callers decide visibility; an object never outlives its organization
    /// (cascading deletes), so a miss reads as NOT_FOUND.
    pub async fn load(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Organization> {
        let c = ctx.data::<Caller>()?;
        Ok(Organization(organizations::of_row(c, id).await?))
    }
}

connection!(OrganizationConnection, OrganizationEdge, Organization);

#[derive(SimpleObject)]
pub struct OrganizationSettings {
    /// Members may save and share files on the service's storage.
    pub storage_enabled: bool,
    /// Members may use hosted notebooks.
    pub notebooks_enabled: bool,
}

#[derive(SimpleObject)]
pub struct Plan {
    pub name: String,
    /// Seats purchased: the most seats that may be assigned at once.
    pub seat_limit: i32,
    pub starts_on: Date,
    /// Null for a plan with no end. Access tokens never outlive it.
    pub ends_on: Option<Date>,
}

#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Organization, self.0.id)
    }
    /// URL identifier: 1-39 chars of a-z, 0-9 and '-', starts with a letter, globally unique, immutable.
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    /// Display name; can be changed at any time.
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn link(&self) -> Option<&str> {
        self.0.link.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn settings(&self) -> OrganizationSettings {
        OrganizationSettings {
            storage_enabled: self.0.storage_enabled,
            notebooks_enabled: self.0.notebooks_enabled,
        }
    }
    async fn plan(&self) -> Plan {
        Plan {
            name: self.0.plan_name.clone(),
            seat_limit: self.0.seat_limit,
            starts_on: Date(self.0.plan_starts_on),
            ends_on: self.0.plan_ends_on.map(Date),
        }
    }
    /// The caller's role here; null when the caller is not a member (site admin, service account).
    async fn viewer_role(&self, ctx: &Context<'_>) -> Result<Option<Role>> {
        let c = ctx.data::<Caller>()?;
        Ok(organizations::viewer_role(c, self.0.id)
            .await?
            .map(Role::from))
    }

    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        role: Option<Role>,
        has_seat: Option<bool>,
        search: Option<String>,
    ) -> Result<MembershipConnection> {
        let c = ctx.data::<Caller>()?;
        let q = PageQuery::parse(
            &PageArgs::new(first, after, last, before),
            "Membership",
            c.services.cursor_key.clone(),
        )?;
        let filter = MembersFilter {
            role: role.map(Into::into),
            has_seat,
            search,
        };
        let cols = super::members_page::columns_shown_by(&ctx.look_ahead());
        let page = members_page::page(c, self.0.id, &filter, &q.request, cols).await?;
        Ok(MembershipConnection::build(
            &q,
            page,
            |m| m.id(),
            Membership,
        ))
    }

    async fn seats(&self) -> super::seat::SeatPool {
        super::seat::SeatPool::new(self.0.clone(), None)
    }

    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn service_accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::service_account::ServiceAccountConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(
            super::service_account::list(c, self.0.id, PageArgs::new(first, after, last, before))
                .await?,
        )
    }

    /// Sign-in links minted for this organization's members (its admins and site admins only).
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn sign_in_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::signin::SignInTokenConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(super::signin::list(c, self.0.id, PageArgs::new(first, after, last, before)).await?)
    }

    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn access_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        account: Option<ID>,
        active: Option<bool>,
    ) -> Result<super::token::AccessTokenConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(super::token::list(
            c,
            self.0.id,
            PageArgs::new(first, after, last, before),
            account,
            active,
        )
        .await?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<InvitationStatus>,
    ) -> Result<super::invitation::InvitationConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(super::invitation::list(
            c,
            self.0.id,
            PageArgs::new(first, after, last, before),
            status.map(Into::into),
        )
        .await?)
    }

    /// Counts of what the organization uses right now.
    async fn resource_usage(&self, ctx: &Context<'_>) -> Result<super::usage::ResourceUsage> {
        let c = ctx.data::<Caller>()?;
        Ok(crate::domain::usage::resource_usage(c, self.0.id)
            .await?
            .into())
    }

    /// Metrics over time. start and end default to the current plan period; interval defaults to MONTH.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        metrics: Option<Vec<UsageMetric>>,
        #[graphql(default_with = "Some(UsageInterval::Month)")] interval: Option<UsageInterval>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Vec<super::usage::UsageSeries>> {
        let c = ctx.data::<Caller>()?;
        let q = crate::domain::usage::UsageQuery {
            metrics: metrics.map(|m| m.into_iter().map(Into::into).collect()),
            interval: interval.unwrap_or(UsageInterval::Month).into(),
            start,
            end,
        };
        let series = crate::domain::usage::usage(c, &self.0, q).await?;
        Ok(series.into_iter().map(Into::into).collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        action: Option<String>,
        actor: Option<ID>,
    ) -> Result<super::audit::AuditEventConnection> {
        let c = ctx.data::<Caller>()?;
        let args = PageArgs::new(first, after, last, before);
        Ok(super::audit::list(c, self.0.id, args, action, actor).await?)
    }

    async fn member(&self, ctx: &Context<'_>, account: ID) -> Result<Option<Membership>> {
        let c = ctx.data::<Caller>()?;
        let Ok(account_id) = ids::decode(&account, NodeKind::Account, &["account"]) else {
            return Ok(None);
        };
        Ok(members::of(c, self.0.id, account_id).await?.map(Membership))
    }
}
