//! How errors look in GraphQL: the contract's `ErrorCode` enum (a mirror
//! of the domain's) and every `AppError` as a GraphQL error carrying
//! `extensions.code` (and `extensions.field` for bad input).

use async_graphql::{Enum, ErrorExtensions};

use crate::error::AppError;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::error::ErrorCode")]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    AlreadyExists,
    SeatLimitReached,
    NoSeat,
    NotAMember,
    LastAdmin,
    CannotChangeOwnRole,
    InvitationExpired,
    InvitationNotPending,
    RateLimited,
    QueryTooComplex,
    Internal,
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        let code = e.code();
        let field = e.field();
        let message = e.public_message();
        // INTERNAL keeps its cause, for the pipeline to log with the request id.
        let source: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>> = match e {
            AppError::Internal(cause) => Some(std::sync::Arc::new(cause.0)),
            _ => None,
        };
        let mut err = async_graphql::Error::new(message);
        err.source = source;
        err.extend_with(|_, ext| {
            ext.set("code", code.as_str());
            if let Some(field) = &field {
                ext.set(
                    "field",
                    async_graphql::Value::List(
                        field
                            .iter()
                            .map(|s| async_graphql::Value::String(s.clone()))
                            .collect(),
                    ),
                );
            }
        })
    }
}
