//! orgraph: a GraphQL API server for organizations — members and roles,
//! invitations, seats, access tokens, service accounts and usage.
//!
//! `http::router(state)` is what both the binary and the tests serve.

pub mod app;
#[cfg(test)]
mod architecture;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod usage;

pub use app::AppState;
pub use config::Config;
