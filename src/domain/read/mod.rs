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
