//! Per-item errors of bulk mutations.

use async_graphql::SimpleObject;

use super::error::ErrorCode;
use crate::error::AppError;

#[derive(SimpleObject, Clone)]
pub struct UserError {
    pub code: ErrorCode,
    pub message: String,
    /// Path of the input field at fault, e.g. ["invitees", "2", "email"].
    pub field: Option<Vec<String>>,
}

impl From<&AppError> for UserError {
    fn from(e: &AppError) -> Self {
        UserError {
            code: e.code().into(),
            message: e.public_message(),
            field: e.field(),
        }
    }
}
