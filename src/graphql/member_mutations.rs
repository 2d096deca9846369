//! Member mutations: thin wrappers over domain::members.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::account::Account;
use super::enums::Role;
use super::ids::{self, NodeKind};
use super::member::Membership;
use super::organization::Organization;
use crate::domain::members::{self, AccountRef};
use crate::domain::read::accounts::AccountView;
use crate::domain::read::members::MemberRow;
use crate::domain::{validate, Caller};

#[derive(InputObject)]
pub struct AddMemberInput {
    pub organization: ID,
    /// An account ID or an email address.
    pub account: String,
    #[graphql(default_with = "Some(Role::Member)")]
    pub role: Option<Role>,
}

#[derive(SimpleObject)]
pub struct AddMemberPayload {
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub organization: ID,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password: Option<String>,
    #[graphql(default_with = "Some(Role::Member)")]
    pub role: Option<Role>,
}

#[derive(SimpleObject)]
pub struct CreateUserPayload {
    pub account: Account,
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct UpdateMemberRoleInput {
    pub organization: ID,
    pub account: ID,
    pub role: Role,
}

#[derive(SimpleObject)]
pub struct UpdateMemberRolePayload {
    pub membership: Membership,
}

#[derive(InputObject)]
pub struct RemoveMemberInput {
    pub organization: ID,
    pub account: ID,
}

#[derive(SimpleObject)]
pub struct RemoveMemberPayload {
    pub removed_account_id: ID,
}

#[derive(InputObject)]
pub struct LeaveOrganizationInput {
    pub organization: ID,
}

#[derive(SimpleObject)]
pub struct LeaveOrganizationPayload {
    pub organization: Organization,
}

#[derive(Default)]
pub struct MemberMutations;

#[Object]
impl MemberMutations {
    /// Site admins only: make an existing account (by id or email) a member.
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> Result<AddMemberPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let account = if input.account.contains('@') {
            AccountRef::Email(validate::email("account", &input.account)?)
        } else {
            AccountRef::Id(ids::decode(
                &ID(input.account.clone()),
                NodeKind::Account,
                &["account"],
            )?)
        };
        let m =
            members::add_member(c, org, account, input.role.unwrap_or(Role::Member).into()).await?;
        Ok(AddMemberPayload {
            membership: Membership(MemberRow::with_seat(m, None)),
        })
    }

    /// Create an account inside the organization; without an email it is a MANAGED account.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> Result<CreateUserPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let (acc, m) = members::create_user(
            c,
            org,
            members::CreateUser {
                email: input.email,
                first_name: input.first_name,
                last_name: input.last_name,
                password: input.password,
                role: input.role.unwrap_or(Role::Member).into(),
            },
        )
        .await?;
        Ok(CreateUserPayload {
            account: AccountView::of(acc, true).into(),
            membership: Membership(MemberRow::with_seat(m, None)),
        })
    }

    async fn update_member_role(
        &self,
        ctx: &Context<'_>,
        input: UpdateMemberRoleInput,
    ) -> Result<UpdateMemberRolePayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let acc = ids::decode(&input.account, NodeKind::Account, &["account"])?;
        let m = members::update_role(c, org, acc, input.role.into()).await?;
        Ok(UpdateMemberRolePayload {
            membership: Membership(MemberRow::bare(m)),
        })
    }

    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> Result<RemoveMemberPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let acc = ids::decode(&input.account, NodeKind::Account, &["account"])?;
        members::remove_member(c, org, acc).await?;
        Ok(RemoveMemberPayload {
            removed_account_id: ids::encode(NodeKind::Account, acc),
        })
    }

    async fn leave_organization(
        &self,
        ctx: &Context<'_>,
        input: LeaveOrganizationInput,
    ) -> Result<LeaveOrganizationPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let org = members::leave(c, org).await?;
        Ok(LeaveOrganizationPayload {
            organization: Organization(org),
        })
    }
}
