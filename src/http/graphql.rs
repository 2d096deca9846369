//! GraphQL over HTTP and websocket.
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
use axum::Extension;
use serde_json::json;
use tower_http::request_id::RequestId;

use crate::app::AppState;
use crate::auth::principal::authenticate;
use crate::auth::Principal;
use crate::domain::Caller;
use crate::error::{AppError, ErrorCode};
use crate::metrics::RequestLabels;

pub const MAX_BATCH: usize = 10;
pub const MAX_JSON_BODY: usize = 1024 * 1024;
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

fn rid(id: &Option<Extension<RequestId>>) -> String {
    id.as_ref()
        .and_then(|r| r.0.header_value().to_str().ok())
        .unwrap_or("-")
        .to_string()
}

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

async fn caller_for(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match authenticate(state, auth).await {
        Ok(p) => Ok(Caller::new(state.clone(), p)),
        Err(AppError::Unauthenticated) => Err(error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "the bearer token is invalid or expired",
        )),
        Err(_) => Err(error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        )),
    }
}

fn op_label(req: &GqlRequest) -> String {
    match req.operation_name.as_deref() {
        Some(n) if n.len() <= 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            n.to_string()
        }
        Some(_) => "other".into(),
        None => "anonymous".into(),
    }
}

/// A database error a resolver passed up with `?` (not through AppError)
/// carries the database's own text and no code: log it, answer INTERNAL
/// with the request id. Returns whether `e` was one.
pub fn hide_database_error(e: &mut async_graphql::ServerError, request_id: &str) -> bool {
    let from_db = e.source::<sea_orm::DbErr>().is_some()
        || e.source::<sea_orm::TransactionError<sea_orm::DbErr>>()
            .is_some();
    let coded = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if !from_db || coded {
        return false;
    }
    tracing::error!(request_id, error = %e.message, "internal error in a resolver");
    e.message = "internal error".into();
    let ext = e.extensions.get_or_insert_with(Default::default);
    ext.set("code", "INTERNAL");
    ext.set("requestId", request_id);
    true
}

/// Per-principal rate limit (anonymous callers by IP), then the alias cap,
/// then execution under the request timeout (dropping the future rolls any
/// open transaction back).
async fn execute(
    state: &AppState,
    caller: Caller,
    peer: SocketAddr,
    mut batch: BatchRequest,
    request_id: &str,
    headers: &HeaderMap,
) -> Response {
    let key = match &caller.principal {
        Principal::Person { account_id, .. } => format!("a:{account_id}"),
        Principal::Service {
            service_account_id, ..
        } => format!("s:{service_account_id}"),
        Principal::Anonymous => format!("ip:{}", peer.ip()),
    };
    if let Err(wait) = state.limits.graphql(key) {
        let mut res = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "rate limit exceeded; retry later",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let mut requests: Vec<&mut GqlRequest> = match &mut batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs.iter_mut().collect(),
    };
    // PostgreSQL text cannot hold NUL, and no field of ours may contain one:
    // refuse it here, for every input, instead of failing deep inside a query.
    let has_nul = requests.iter().any(|r| {
        r.query.contains('\0')
            || serde_json::to_string(&r.variables)
                .map(|v| v.contains("\\u0000"))
                .unwrap_or(false)
    });
    if has_nul {
        let status = if wants_graphql_response(headers) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        return error_response(
            status,
            ErrorCode::BadUserInput,
            "NUL characters are not allowed in any input",
        );
    }
    // Parsed once (or taken from the cache); the engine reuses the document.
    let aliases: usize = requests
        .iter_mut()
        .filter_map(|r| state.documents.prepare(r))
        .sum();
    if aliases > state.config.max_aliases {
        let status = if wants_graphql_response(headers) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        return error_response(
            status,
            ErrorCode::QueryTooComplex,
            &format!("at most {} aliases per request", state.config.max_aliases),
        );
    }
    let limit = std::time::Duration::from_secs(state.config.request_timeout.max(1));
    match tokio::time::timeout(limit, run(state, caller, batch, request_id, headers)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(request_id, "request timed out; cancelled");
            let body = json!({ "errors": [{ "message": "the request took too long and was cancelled", "extensions": { "code": "INTERNAL", "requestId": request_id } }] });
            (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into_response()
        }
    }
}

async fn run(
    state: &AppState,
    caller: Caller,
    batch: BatchRequest,
    request_id: &str,
    headers: &HeaderMap,
) -> Response {
    let labels: Vec<String> = match &batch {
        BatchRequest::Single(r) => vec![op_label(r)],
        BatchRequest::Batch(rs) => rs.iter().map(op_label).collect(),
    };
    // API_REQUESTS: each operation a service account runs in its organization's name.
    if let crate::auth::Principal::Service {
        organization_id, ..
    } = caller.principal
    {
        state.usage.incr(
            organization_id,
            crate::usage::UsageMetric::ApiRequests,
            labels.len() as i64,
            state.clock.now(),
        );
    }
    let mut resp = state.schema.execute_batch(batch.data(caller)).await;
    let responses: Vec<&mut async_graphql::Response> = match &mut resp {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter_mut().collect(),
    };
    let mut all_request_errors = true;
    for (i, r) in responses.into_iter().enumerate() {
        let mut outcome = if r.errors.is_empty() { "ok" } else { "error" };
        for e in r.errors.iter_mut() {
            let unexpected = hide_database_error(e, request_id);
            let ext = e.extensions.get_or_insert_with(Default::default);
            let is_internal =
                matches!(ext.get("code"), Some(async_graphql::Value::String(s)) if s == "INTERNAL");
            if is_internal || unexpected {
                outcome = "internal";
                ext.set("requestId", request_id);
            } else if ext.get("code").is_none() {
                // Parse/validation errors and limit refusals from the engine.
                let code = if e.message.contains("too complex")
                    || e.message.contains("nested too deep")
                    || e.message.contains("too many directives")
                    || e.message.contains("recursion")
                {
                    "QUERY_TOO_COMPLEX"
                } else {
                    "BAD_USER_INPUT"
                };
                ext.set("code", code);
            }
        }
        if r.data != async_graphql::Value::Null || r.errors.is_empty() {
            all_request_errors = false;
        }
        let label = labels.get(i).cloned().unwrap_or_else(|| "anonymous".into());
        state
            .metrics
            .requests
            .get_or_create(&RequestLabels {
                operation: label,
                outcome: outcome.into(),
            })
            .inc();
    }
    let graphql_response = wants_graphql_response(headers);
    let status = if graphql_response && all_request_errors {
        StatusCode::BAD_REQUEST
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

pub async fn post_graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = rid(&request_id);
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
    let caller = match caller_for(&state, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    execute(&state, caller, peer, batch, &request_id, &headers).await
}

const BODY_LIMIT_FILE: usize = 1024 * 1024;

fn operation_type(req: &GqlRequest) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(&req.query).ok()?;
    match (&req.operation_name, doc.operations) {
        (None, async_graphql::parser::types::DocumentOperations::Single(op)) => Some(op.node.ty),
        (Some(name), async_graphql::parser::types::DocumentOperations::Multiple(ops)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (Some(_), async_graphql::parser::types::DocumentOperations::Single(op)) => Some(op.node.ty),
        (None, async_graphql::parser::types::DocumentOperations::Multiple(ops)) => {
            ops.values().next().map(|op| op.node.ty)
        }
    }
}

/// GET: queries only (GraphQL-over-HTTP: a mutation over GET is 405).
pub async fn get_graphql(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request_id: Option<Extension<RequestId>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request_id = rid(&request_id);
    let req = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or("")) {
        Ok(r) => r,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "missing or malformed query parameters",
            )
        }
    };
    if let Some(ty) = operation_type(&req) {
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
    let caller = match caller_for(&state, &headers).await {
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
