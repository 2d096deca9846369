//! Schema assembly: one MergedObject per domain area.

pub mod account;
pub mod ids;
pub mod loaders;
pub mod member;
pub mod member_mutations;
pub mod org_mutations;
pub mod organization;
pub mod pagination;
pub mod query;
pub mod scalars;
pub mod seat;

use async_graphql::{EmptySubscription, MergedObject, Schema};

use crate::config::Config;

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    org_mutations::OrgMutations,
    member_mutations::MemberMutations,
);

pub type AppSchema = Schema<query::QueryRoot, MutationRoot, EmptySubscription>;

pub fn build_schema(config: &Config) -> AppSchema {
    let mut b = Schema::build(query::QueryRoot, MutationRoot::default(), EmptySubscription)
        .register_output_type::<crate::error::ErrorCode>()
        .limit_depth(16)
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
        Schema::build(query::QueryRoot, MutationRoot::default(), EmptySubscription).finish();
    schema.sdl()
}
