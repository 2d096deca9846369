//! What the integration tests share, by concern. Everything a test file
//! used from the old `tests/common` root is re-exported here, so
//! `use crate::helpers::*;` brings TestApp, Resp, World, the personas'
//! password and the shared GraphQL documents.

pub mod app;
pub mod db;
pub mod http;
pub mod links;
pub mod metrics;
pub mod process;
pub mod smtp;
pub mod world;
pub mod ws;

pub use orgraph::clock::Clock;

pub use app::TestApp;
pub use db::{postgres_server, process_database, PgDatabase};
pub use http::Resp;
pub use world::{
    global_id, World, ASSIGN, CREATE_ORG, CREATE_SA, CREATE_USER, ISSUE, PASSWORD, REVOKE_SEATS,
    SET_PLAN,
};
