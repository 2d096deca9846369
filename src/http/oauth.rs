//! OAuth 2.0 token endpoint (RFC 6749): password and client-credentials
//! grants, form-encoded or JSON. Errors per §5.2.

use std::collections::HashMap;

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ReqId;
use crate::domain::accounts;
use crate::error::AppError;
use crate::http::AppState;

pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    no_store(&mut res);
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"orgraph\""),
        );
    }
    res
}

/// 500 `server_error` for an error answered as INTERNAL, logged here (with
/// the request id and its whole chain) and nowhere else.
pub fn server_error(request_id: &str, e: &AppError) -> Response {
    e.log(request_id);
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal error",
    )
}

fn no_store(res: &mut Response) {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

pub fn token_response(access_token: String, expires_in: i64) -> Response {
    let mut res = axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }))
    .into_response();
    no_store(&mut res);
    res
}

/// Parameters from a form-encoded or JSON body.
#[allow(clippy::result_large_err)] // the Err is the finished HTTP answer
pub fn params(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let bad = || {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed request body",
        )
    };
    // PostgreSQL text cannot hold NUL: refuse it in any parameter.
    if body.contains(&0)
        || body.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"))
        || body.windows(6).any(|w| w == b"\\u0000")
    {
        return Err(bad());
    }
    match ct.as_str() {
        "application/x-www-form-urlencoded" => serde_urlencoded_pairs(body).ok_or_else(bad),
        "application/json" => {
            let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad())?;
            let obj = v.as_object().ok_or_else(bad)?;
            Ok(obj
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect())
        }
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send application/x-www-form-urlencoded or application/json",
        )),
    }
}

fn serde_urlencoded_pairs(body: &[u8]) -> Option<HashMap<String, String>> {
    std::str::from_utf8(body).ok()?;
    Some(form_urlencoded::parse(body).into_owned().collect())
}

/// 429 with Retry-After (whole seconds, at least 1).
pub fn too_many(wait: std::time::Duration) -> Response {
    let mut res = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "slow_down",
        "too many attempts; retry later",
    );
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match params(&headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let limited = match p.get("grant_type").map(String::as_str) {
        Some("password") => state.limits.token_by_user(
            peer.ip(),
            p.get("username").map(String::as_str).unwrap_or(""),
        ),
        Some("client_credentials") => match super::oauth_client::client_id_of(&headers, &p) {
            Some(id) => state.limits.token_by_client(peer.ip(), &id),
            None => Ok(()),
        },
        _ => Ok(()),
    };
    if let Err(wait) = limited {
        return too_many(wait);
    }
    match p.get("grant_type").map(String::as_str) {
        Some("password") => password_grant(&state, &p, &request_id).await,
        Some("client_credentials") => {
            super::oauth_client::client_credentials(&state, peer.ip(), &headers, &p, &request_id)
                .await
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "supported: password, client_credentials",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        ),
    }
}

async fn password_grant(
    state: &AppState,
    p: &HashMap<String, String>,
    request_id: &str,
) -> Response {
    let (Some(username), Some(password)) = (p.get("username"), p.get("password")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        );
    };
    match accounts::password_sign_in(&state.services, username, password).await {
        Ok(acc) => match state.services.keys.issue_person(
            acc.id,
            acc.session_epoch,
            state.services.clock.now(),
        ) {
            Ok(jwt) => token_response(jwt, state.services.keys.ttl_seconds()),
            Err(e) => server_error(request_id, &AppError::internal(e)),
        },
        Err(AppError::Unauthenticated) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the email or password is wrong",
        ),
        Err(e) => server_error(request_id, &e),
    }
}
