//! Schema assembly: one MergedObject per domain area.

pub mod account;
pub mod audit;
pub mod enums;
pub mod error;
pub mod ids;
pub mod invitation;
pub mod member;
pub mod member_mutations;
pub mod members_page;
pub mod message;
pub mod onboarding;
pub mod org_mutations;
pub mod organization;
pub mod pagination;
pub mod plain;
pub mod query;
pub mod scalars;
pub mod seat;
pub mod service_account;
pub mod signin;
pub mod subscription;
pub mod token;
pub mod usage;
pub mod user_error;

use async_graphql::{MergedObject, Schema};
use subscription::SubscriptionRoot;

use crate::config::Config;

#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    org_mutations::OrgMutations,
    member_mutations::MemberMutations,
    seat::SeatMutations,
    token::TokenMutations,
    service_account::ServiceAccountMutations,
    invitation::InvitationMutations,
    message::MessageMutations,
    onboarding::OnboardingMutations,
);

pub type AppSchema = Schema<query::QueryRoot, MutationRoot, SubscriptionRoot>;

pub fn build_schema(config: &Config) -> AppSchema {
    let mut b = Schema::build(query::QueryRoot, MutationRoot::default(), SubscriptionRoot)
        .register_output_type::<error::ErrorCode>()
        .limit_depth(config.max_depth)
        .limit_complexity(config.max_complexity)
        .limit_recursive_depth(32)
        .limit_directives(8);
    if !config.introspection {
        b = b.disable_introspection().disable_suggestions();
    }
    b.finish()
}

/// The SDL that `orgraph print-schema` prints and schema.graphql holds.
pub fn sdl() -> String {
    let schema =
        Schema::build(query::QueryRoot, MutationRoot::default(), SubscriptionRoot).finish();
    schema.sdl()
}
