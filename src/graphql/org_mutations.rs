//! Organization mutations: thin wrappers over domain::organizations.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::scalars::Date;
use crate::domain::{organizations as orgs, Caller};

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    pub handle: String,
    pub name: String,
    pub description: Option<String>,
    pub email: Option<String>,
    pub link: Option<String>,
}

#[derive(SimpleObject)]
pub struct CreateOrganizationPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub organization: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub link: Option<String>,
}

#[derive(SimpleObject)]
pub struct UpdateOrganizationPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct UpdateOrganizationSettingsInput {
    pub organization: ID,
    pub storage_enabled: Option<bool>,
    pub notebooks_enabled: Option<bool>,
}

#[derive(SimpleObject)]
pub struct UpdateOrganizationSettingsPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct SetPlanInput {
    pub organization: ID,
    pub name: String,
    pub seat_limit: i32,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
}

#[derive(SimpleObject)]
pub struct SetPlanPayload {
    pub organization: Organization,
}

#[derive(InputObject)]
pub struct PurchaseSeatsInput {
    pub organization: ID,
    pub quantity: i32,
}

#[derive(SimpleObject)]
pub struct PurchaseSeatsPayload {
    pub organization: Organization,
}

#[derive(Default)]
pub struct OrgMutations;

#[Object]
impl OrgMutations {
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<CreateOrganizationPayload> {
        let c = ctx.data::<Caller>()?;
        let org = orgs::create(
            c,
            orgs::CreateOrganization {
                handle: input.handle,
                name: input.name,
                description: input.description,
                email: input.email,
                link: input.link,
            },
        )
        .await?;
        Ok(CreateOrganizationPayload {
            organization: Organization(org),
        })
    }

    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> Result<UpdateOrganizationPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let org = orgs::update(
            c,
            id,
            orgs::UpdateOrganization {
                name: input.name,
                description: input.description,
                email: input.email,
                link: input.link,
            },
        )
        .await?;
        Ok(UpdateOrganizationPayload {
            organization: Organization(org),
        })
    }

    async fn update_organization_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationSettingsInput,
    ) -> Result<UpdateOrganizationSettingsPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let org =
            orgs::update_settings(c, id, input.storage_enabled, input.notebooks_enabled).await?;
        Ok(UpdateOrganizationSettingsPayload {
            organization: Organization(org),
        })
    }

    /// Site admins only: set the plan, its period and seat limit.
    async fn set_plan(&self, ctx: &Context<'_>, input: SetPlanInput) -> Result<SetPlanPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let org = orgs::set_plan(
            c,
            id,
            orgs::SetPlan {
                name: input.name,
                seat_limit: input.seat_limit,
                starts_on: input.starts_on.0,
                ends_on: input.ends_on.map(|d| d.0),
            },
        )
        .await?;
        Ok(SetPlanPayload {
            organization: Organization(org),
        })
    }

    /// Admins and billing managers: add seats to the plan.
    async fn purchase_seats(
        &self,
        ctx: &Context<'_>,
        input: PurchaseSeatsInput,
    ) -> Result<PurchaseSeatsPayload> {
        let c = ctx.data::<Caller>()?;
        let id = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let org = orgs::purchase_seats(c, id, input.quantity).await?;
        Ok(PurchaseSeatsPayload {
            organization: Organization(org),
        })
    }
}
