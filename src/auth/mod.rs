//! Authentication: who is calling. Authorization (what they may do) lives in
//! `domain::authz`, decided per organization from current database rows.

pub mod jwt;
pub mod password;
pub mod principal;
pub mod tokens;

pub use principal::{Principal, Scope};
