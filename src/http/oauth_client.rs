//! The client-credentials grant (service accounts). Filled in with the
//! service-accounts work; until then it is refused as unsupported.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::oauth::oauth_error;
use crate::app::AppState;

pub async fn client_credentials(
    _state: &AppState,
    _headers: &HeaderMap,
    _p: &HashMap<String, String>,
) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "client_credentials is not enabled yet",
    )
}
