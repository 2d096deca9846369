//! The integration tests, one binary: each module is an area of the API,
//! `helpers` is what they share. One binary links the app once instead of
//! once per area; the tests run as threads of one process, so none may
//! change process-wide state (environment, current directory, a global
//! subscriber) or depend on a fixed port or path.
//!
//! `cargo test --test api` runs them all, `cargo test --test api seats::`
//! one area.

mod helpers;

mod audit;
mod audit_references;
mod audit_walk;
mod auth;
mod cli;
mod client_auth_limits;
mod control_chars;
mod faults;
mod fuzz_parsers;
mod hostile;
mod invitation_csv;
mod invitations;
mod limits;
mod mail;
mod mail_erasure;
mod members;
mod messages;
mod metrics_labels;
mod multi_instance;
mod nested_reads;
mod nested_smoke;
mod onboarding;
mod organizations;
mod plain_lists;
mod postgres_planner;
mod redteam;
mod redteam2;
mod redteam_nested;
mod seats;
mod server;
mod service_accounts;
mod shutdown;
mod signin;
mod signin_scope;
mod subscriptions;
mod tokens;
mod usage;
mod usage_kill;
mod ws_pipeline;
