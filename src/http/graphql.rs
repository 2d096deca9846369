//! GraphQL over HTTP (the websocket transport is ws.rs; both go through
//! pipeline.rs).
//!
//! async-graphql-axum's own extractor parses a `text/plain` POST as JSON and
//! runs mutations sent by GET — both CSRF paths — and runs batches of any
//! size. So the transport is ours: JSON or (with a preflight header)
//! multipart POST, queries only over GET, batches capped.

use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request as GqlRequest};
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pipeline::{self, Refusal};
use super::ReqId;
use crate::domain::Caller;
use crate::error::{AppError, ErrorCode};
use crate::http::AppState;

pub const MAX_BATCH: usize = 10;
pub const MAX_JSON_BODY: usize = 1024 * 1024;
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// A GraphQL-shaped error answer with an HTTP status.
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    let mut res = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    res
}

/// The status of an answer whose request did not run (nothing executed):
/// 400 for clients that accept `application/graphql-response+json`, 200
/// with the errors for legacy `application/json` clients
/// (GraphQL-over-HTTP, "Legacy watershed").
fn request_error_status(headers: &HeaderMap) -> StatusCode {
    if wants_graphql_response(headers) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|a| a.contains(GRAPHQL_RESPONSE_JSON))
        .unwrap_or(false)
}

fn mime_essence(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

fn boundary(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_string())
    })
}

async fn caller_for(
    state: &AppState,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<Caller, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match pipeline::authenticate(state, auth).await {
        Ok((caller, _)) => Ok(caller),
        Err(AppError::Unauthenticated) => Err(error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "the bearer token is invalid or expired",
        )),
        Err(e) => {
            e.log(request_id);
            let body = json!({ "errors": [{ "message": "internal error",
                "extensions": { "code": ErrorCode::Internal.as_str(), "requestId": request_id } }] });
            Err((StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response())
        }
    }
}

/// An HTTP answer for a refusal of the pipeline.
fn refusal_response(refusal: &Refusal, request_id: &str, headers: &HeaderMap) -> Response {
    let status = match refusal {
        Refusal::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        Refusal::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        Refusal::Nul | Refusal::TooManyAliases(_) => request_error_status(headers),
    };
    let body = json!({ "errors": refusal.errors(request_id) });
    let mut res = (status, axum::Json(body)).into_response();
    if let Refusal::RateLimited(wait) = refusal {
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// The pipeline (admission checks, then execution under the timeout with
/// post-processing), and the answer in GraphQL-over-HTTP terms.
async fn execute(
    state: &AppState,
    caller: Caller,
    peer: SocketAddr,
    mut batch: BatchRequest,
    request_id: &str,
    headers: &HeaderMap,
) -> Response {
    let mut requests: Vec<&mut GqlRequest> = match &mut batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs.iter_mut().collect(),
    };
    if let Err(r) = pipeline::admit(state, &caller.principal, peer, &mut requests) {
        return refusal_response(&r, request_id, headers);
    }
    let resp = match pipeline::execute(state, caller, batch, request_id).await {
        Ok(resp) => resp,
        Err(r) => return refusal_response(&r, request_id, headers),
    };
    let all_request_errors = match &resp {
        BatchResponse::Single(r) => request_error(r),
        BatchResponse::Batch(rs) => rs.iter().all(request_error),
    };
    let graphql_response = wants_graphql_response(headers);
    let status = if all_request_errors {
        request_error_status(headers)
    } else {
        StatusCode::OK
    };
    let body = serde_json::to_vec(&resp).unwrap_or_else(|_| b"{}".to_vec());
    let ct = if graphql_response {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    (status, [(header::CONTENT_TYPE, ct)], body).into_response()
}

/// An answer without data, only errors (nothing ran).
fn request_error(r: &async_graphql::Response) -> bool {
    r.data == async_graphql::Value::Null && !r.errors.is_empty()
}

pub async fn post_graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let batch = match mime_essence(&headers).as_deref() {
        Some("application/json") => {
            if body.len() > MAX_JSON_BODY {
                return error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::BadUserInput,
                    "request body over 1 MiB",
                );
            }
            match serde_json::from_slice::<BatchRequest>(&body) {
                Ok(b) => b,
                Err(_) => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::BadUserInput,
                        "the body is not a GraphQL request",
                    )
                }
            }
        }
        Some("multipart/form-data") => {
            let preflight = headers.contains_key("apollo-require-preflight")
                || headers.contains_key("x-orgraph-csrf");
            if !preflight {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadUserInput,
                    "multipart requests need an Apollo-Require-Preflight or X-Orgraph-CSRF header",
                );
            }
            if boundary(&headers).is_none() {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadUserInput,
                    "multipart boundary missing",
                );
            }
            let opts = MultipartOptions::default()
                .max_file_size(BODY_LIMIT_FILE)
                .max_num_files(1);
            let reader = futures_util::io::Cursor::new(body.to_vec());
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            match async_graphql::http::receive_batch_body(ct, reader, opts).await {
                Ok(b) => b,
                Err(e) => {
                    let status = if matches!(e, async_graphql::ParseRequestError::PayloadTooLarge) {
                        StatusCode::PAYLOAD_TOO_LARGE
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    return error_response(
                        status,
                        ErrorCode::BadUserInput,
                        "malformed multipart request",
                    );
                }
            }
        }
        _ => {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::BadUserInput,
                "send application/json (or multipart/form-data for uploads)",
            )
        }
    };
    if let BatchRequest::Batch(v) = &batch {
        if v.len() > MAX_BATCH {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::QueryTooComplex,
                "at most 10 operations in a batch",
            );
        }
        if v.is_empty() {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "empty batch",
            );
        }
    }
    let caller = match caller_for(&state, &headers, &request_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    execute(&state, caller, peer, batch, &request_id, &headers).await
}

const BODY_LIMIT_FILE: usize = 1024 * 1024;

/// GET: queries only (GraphQL-over-HTTP: a mutation over GET is 405).
pub async fn get_graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut req = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "missing or malformed query parameters",
            )
        }
    };
    if let Some(ty) = pipeline::operation_type(&mut req) {
        if ty != OperationType::Query {
            let mut res = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadUserInput,
                "only queries may be sent with GET; use POST",
            );
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return res;
        }
    }
    let caller = match caller_for(&state, &headers, &request_id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    execute(
        &state,
        caller,
        peer,
        BatchRequest::Single(req),
        &request_id,
        &headers,
    )
    .await
}
