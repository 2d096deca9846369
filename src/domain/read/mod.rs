//! Reads: every query the API answers, by area, with the rules of who sees
//! what (rules.md) beside the SQL that applies them. Each function takes
//! the request's `Caller` and gives rows (entity models or the structs
//! here); the API layer decodes its IDs and cursors before and wraps the
//! rows after, and builds no query of its own.
//!
//! A read that lists rows of one parent (an organization's members, an
//! account's memberships) takes the parent's id and a `PageRequest`; rows
//! are keyed by their parent's id as well as their own, so the same reads
//! can later take a set of parents in one statement.

pub mod accounts;
pub mod audit;
pub mod invitations;
pub mod members;
pub mod members_page;
pub mod messages;
pub mod organizations;
pub mod seats;
pub mod service_accounts;
pub mod signin;
pub mod subscriptions;
pub mod tokens;

use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::ColumnTrait;
use uuid::Uuid;

use crate::entity::membership;

/// `SELECT organization_id FROM memberships WHERE account_id = account`:
/// the organizations an account belongs to, for `IN (…)` filters.
fn organizations_of(account: Uuid) -> SelectStatement {
    Query::select()
        .column(membership::Column::OrganizationId)
        .from(membership::Entity)
        .and_where(membership::Column::AccountId.eq(account))
        .to_owned()
}
