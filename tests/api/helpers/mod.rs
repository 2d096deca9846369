//! What the integration tests share, by concern. Everything a test file
//! used from the old `tests/common` root is re-exported here, so
//! `use crate::helpers::*;` brings TestApp, Resp, World, the personas'
//! password and the shared GraphQL documents.
//!
//! Names say which helpers assert: `expect_*` (`Resp::expect_data`,
//! `TestApp::expect_data`, `process::expect_data`) return what an answer
//! must hold and panic with the body otherwise, while `gql`, `code`, `data`,
//! `token_request` and the other `*_response`/`*_grant` helpers return the
//! answer as it came for the test to judge. Set-up helpers that make
//! something (`world`, `create_org`, `user`, `sign_in`, `service_account`,
//! `sa_token`, `Client::ready`) panic when it cannot be made, as set-up.

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
