//! onboardUsers: per-item results; the token secret is mailed, never returned.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};

use super::ids;
use super::member::Membership;
use super::token::AccessToken;
use super::user_error::UserError;
use crate::domain::onboarding::{self, OnboardUser};
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
}

#[derive(SimpleObject)]
pub struct OnboardUsersPayload {
    pub results: Vec<OnboardingResult>,
}

#[derive(Default)]
pub struct OnboardingMutations;

#[Object]
impl OnboardingMutations {
    /// Automated onboarding: create or add each user, assign a seat, issue a token, and email the user a welcome and the token.
    async fn onboard_users(
        &self,
        ctx: &Context<'_>,
        input: OnboardUsersInput,
    ) -> Result<OnboardUsersPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(&input.organization, "Organization", &["organization"])?;
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
                    Ok(d) => OnboardingResult {
                        email: o.email,
                        membership: Some(Membership::new(d.membership, None)),
                        access_token: Some(AccessToken(d.token)),
                        error: None,
                    },
                    Err(e) => OnboardingResult {
                        email: o.email,
                        membership: None,
                        access_token: None,
                        error: Some(UserError::from(&e)),
                    },
                })
                .collect(),
        })
    }
}
