//! onboardUsers: per-item results; the token secret is mailed, never returned.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::ids::{self, NodeKind};
use super::invitation::Invitation;
use super::member::Membership;
use super::token::AccessToken;
use super::user_error::UserError;
use crate::domain::onboarding::{self, OnboardUser, Onboarded};
use crate::domain::read::members::MemberRow;
use crate::domain::Caller;

#[derive(InputObject)]
pub struct OnboardUserInput {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(InputObject)]
pub struct OnboardUsersInput {
    pub organization: ID,
    pub users: Vec<OnboardUserInput>,
}

#[derive(SimpleObject)]
pub struct OnboardingResult {
    pub email: String,
    pub membership: Option<Membership>,
    pub access_token: Option<AccessToken>,
    pub error: Option<UserError>,
    /// Set when the email belongs to an existing account that is not a member: it was sent an invitation (as `inviteMembers` does) and joins only by accepting it.
    pub invitation: Option<Invitation>,
}

#[derive(SimpleObject)]
pub struct OnboardUsersPayload {
    pub results: Vec<OnboardingResult>,
}

#[derive(Default)]
pub struct OnboardingMutations;

#[Object]
impl OnboardingMutations {
    /// Automated onboarding: create each new user (or take an existing member), assign a seat, issue a token, and email the user a welcome and the token. An existing account that is not a member is invited instead.
    async fn onboard_users(
        &self,
        ctx: &Context<'_>,
        input: OnboardUsersInput,
    ) -> Result<OnboardUsersPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let users = input
            .users
            .into_iter()
            .map(|u| OnboardUser {
                email: u.email,
                first_name: u.first_name,
                last_name: u.last_name,
            })
            .collect();
        let out = onboarding::onboard(c, org, users).await?;
        Ok(OnboardUsersPayload {
            results: out
                .into_iter()
                .map(|o| match o.result {
                    Ok(Onboarded::Member {
                        membership, token, ..
                    }) => OnboardingResult {
                        email: o.email,
                        membership: Some(Membership(MemberRow::bare(membership))),
                        access_token: Some(AccessToken(token)),
                        error: None,
                        invitation: None,
                    },
                    Ok(Onboarded::Invited(inv)) => OnboardingResult {
                        email: o.email,
                        membership: None,
                        access_token: None,
                        error: None,
                        invitation: Some(Invitation(inv)),
                    },
                    Err(e) => OnboardingResult {
                        email: o.email,
                        membership: None,
                        access_token: None,
                        error: Some(UserError::from(&e)),
                        invitation: None,
                    },
                })
                .collect(),
        })
    }
}
