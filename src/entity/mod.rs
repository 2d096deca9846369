//! sea-orm entities, one file per table: plain data, no logic.

pub mod access_token;
pub mod account;
pub mod audit_event;
pub mod enums;
pub mod invitation;
pub mod mail_outbox;
pub mod membership;
pub mod message;
pub mod message_recipient;
pub mod organization;
pub mod positional;
pub mod seat;
pub mod service_account;
pub mod sign_in_token;
pub mod usage_counter;
