//! The one request pipeline: what every GraphQL operation passes, whether it
//! came as an HTTP request or as a message on a websocket.
//!
//! Authentication (fresh rows, a fresh `Caller` with its own loaders), the
//! per-principal rate limit, the NUL check, the alias cap, usage counting,
//! the request timeout, error post-processing (contract codes, request id,
//! database text hidden) and metrics. The transports only turn the outcome
//! into their own framing (an HTTP status, a websocket frame or close code).

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request as GqlRequest, Response as GqlResponse};
use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::domain::authn::authenticate_session;
use crate::domain::Caller;
use crate::error::{AppResult, ErrorCode};
use crate::http::AppState;
use crate::metrics::RequestLabels;

/// Why the pipeline refused an operation before (or instead of) answering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Over the per-principal rate limit; retry after this long.
    RateLimited(Duration),
    /// A NUL character somewhere in the query or the variables.
    Nul,
    /// More aliases than `--max-aliases`.
    TooManyAliases(usize),
    /// Ran longer than `--request-timeout` and was cancelled.
    TimedOut,
}

impl Refusal {
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::RateLimited(_) => ErrorCode::RateLimited,
            Refusal::Nul => ErrorCode::BadUserInput,
            Refusal::TooManyAliases(_) => ErrorCode::QueryTooComplex,
            Refusal::TimedOut => ErrorCode::Internal,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::RateLimited(_) => "rate limit exceeded; retry later".into(),
            Refusal::Nul => "NUL characters are not allowed in any input".into(),
            Refusal::TooManyAliases(max) => format!("at most {max} aliases per request"),
            Refusal::TimedOut => "the request took too long and was cancelled".into(),
        }
    }

    /// The GraphQL error list a client gets (INTERNAL ones carry the request id).
    pub fn errors(&self, request_id: &str) -> serde_json::Value {
        let mut ext = serde_json::json!({ "code": self.code().as_str() });
        if self.code() == ErrorCode::Internal {
            ext["requestId"] = request_id.into();
        }
        serde_json::json!([{ "message": self.message(), "extensions": ext }])
    }
}

/// The principal behind an `Authorization` value, read fresh (JWT checked
/// against the clock, the account or service account and its site-admin
/// flag re-read), with a new `Caller` whose loaders start empty. Called for
/// every HTTP request and every websocket operation.
pub async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
) -> AppResult<(Caller, Option<DateTime<Utc>>)> {
    let (principal, expires) = authenticate_session(&state.services, authorization).await?;
    Ok((Caller::new(state.services.clone(), principal), expires))
}

/// The rate-limit key of a principal: the same on every transport, so a
/// socket and HTTP requests of one principal draw on one budget.
pub fn rate_key(principal: &Principal, peer: SocketAddr) -> String {
    match principal {
        Principal::Person { account_id, .. } => format!("a:{account_id}"),
        Principal::Service {
            service_account_id, ..
        } => format!("s:{service_account_id}"),
        Principal::Anonymous => format!("ip:{}", peer.ip()),
    }
}

/// The checks before anything runs, in order: rate limit (one token per
/// request or websocket operation), NUL (PostgreSQL text cannot hold it and
/// no field of ours may contain one), aliases (the engine has no cap). Each
/// request gets its parsed document here (cached by text), which the engine
/// then reuses.
pub fn admit(
    state: &AppState,
    principal: &Principal,
    peer: SocketAddr,
    requests: &mut [&mut GqlRequest],
) -> Result<(), Refusal> {
    state
        .limits
        .graphql(rate_key(principal, peer))
        .map_err(Refusal::RateLimited)?;
    let has_nul = requests.iter().any(|r| {
        r.query.contains('\0')
            || r.operation_name
                .as_deref()
                .is_some_and(|n| n.contains('\0'))
            || serde_json::to_string(&r.variables)
                .map(|v| v.contains("\\u0000"))
                .unwrap_or(false)
    });
    if has_nul {
        return Err(Refusal::Nul);
    }
    let aliases: usize = requests
        .iter_mut()
        .filter_map(|r| state.documents.prepare(r))
        .sum();
    if aliases > state.services.config.max_aliases {
        return Err(Refusal::TooManyAliases(state.services.config.max_aliases));
    }
    Ok(())
}

/// The kind of operation a request will run (after `admit`, which parsed
/// it); None when it does not parse or names no operation it has.
pub fn operation_type(req: &mut GqlRequest) -> Option<OperationType> {
    let name = req.operation_name.clone();
    let doc = req.parsed_query().ok()?;
    match (&name, &doc.operations) {
        (_, DocumentOperations::Single(op)) => Some(op.node.ty),
        (Some(name), DocumentOperations::Multiple(ops)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op.node.ty),
        (None, DocumentOperations::Multiple(ops)) => ops.values().next().map(|op| op.node.ty),
    }
}

/// API_REQUESTS: each operation a service account runs in its
/// organization's name (a subscription counts once, when it starts).
pub fn count_usage(state: &AppState, principal: &Principal, operations: usize) {
    if let Principal::Service {
        organization_id, ..
    } = principal
    {
        state.services.usage.incr(
            *organization_id,
            crate::usage::UsageMetric::ApiRequests,
            operations as i64,
            state.services.clock.now(),
        );
    }
}

/// Run admitted requests with their caller, under the request timeout
/// (dropping the future rolls any open transaction back); each answer is
/// post-processed and counted.
pub async fn execute(
    state: &AppState,
    caller: Caller,
    batch: BatchRequest,
    request_id: &str,
) -> Result<BatchResponse, Refusal> {
    let anonymous = caller.principal.is_anonymous();
    let labels: Vec<String> = match &batch {
        BatchRequest::Single(r) => vec![label(state, anonymous, r)],
        BatchRequest::Batch(rs) => rs.iter().map(|r| label(state, anonymous, r)).collect(),
    };
    count_usage(state, &caller.principal, labels.len());
    let limit = Duration::from_secs(state.services.config.request_timeout.max(1));
    let run = state.schema.execute_batch(batch.data(caller));
    let mut resp = match tokio::time::timeout(limit, run).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(request_id, "request timed out; cancelled");
            for l in labels {
                record(state, l, "internal");
            }
            return Err(Refusal::TimedOut);
        }
    };
    let responses: Vec<&mut GqlResponse> = match &mut resp {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter_mut().collect(),
    };
    for (r, l) in responses.into_iter().zip(labels) {
        let outcome = post_process(r, request_id);
        record(state, l, outcome);
    }
    Ok(resp)
}

/// The metrics label of a request's operation (bounded: see `Metrics`).
pub fn label(state: &AppState, anonymous: bool, req: &GqlRequest) -> String {
    state
        .services
        .metrics
        .operation_label(anonymous, req.operation_name.as_deref())
}

/// Count one answered operation on /metrics.
pub fn record(state: &AppState, operation: String, outcome: &'static str) {
    state
        .services
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            operation,
            outcome: outcome.into(),
        })
        .inc();
}

/// Give every error of an answer its contract code (parse, validation and
/// limit errors from the engine have none), hide database text, and attach
/// the request id to INTERNAL ones, which are logged here (with their whole
/// chain) and nowhere else. Returns the outcome for metrics: `ok`, `error`
/// or `internal`.
pub fn post_process(r: &mut GqlResponse, request_id: &str) -> &'static str {
    let mut outcome = if r.errors.is_empty() { "ok" } else { "error" };
    for e in r.errors.iter_mut() {
        hide_database_error(e);
        match e.extensions.as_ref().and_then(|x| x.get("code")) {
            Some(async_graphql::Value::String(c)) if c == ErrorCode::Internal.as_str() => {
                outcome = "internal";
                crate::error::log_internal(request_id, internal_cause(e));
                let ext = e.extensions.get_or_insert_with(Default::default);
                ext.set("requestId", request_id);
            }
            Some(_) => {}
            None => {
                let code = engine_error_code(&e.message);
                let ext = e.extensions.get_or_insert_with(Default::default);
                ext.set("code", code.as_str());
            }
        }
    }
    outcome
}

/// The code of an error the engine raised without one: its limits
/// (complexity, depth, recursion, directives) are QUERY_TOO_COMPLEX, every
/// other (parse, validation, variables) BAD_USER_INPUT. The engine tells
/// them apart only by message text; this is the one place that reads it
/// (the texts of async-graphql 7; a unit test runs each limit).
pub fn engine_error_code(message: &str) -> ErrorCode {
    const LIMITS: [&str; 4] = [
        "Query is too complex.",
        "Query is nested too deep.",
        "The recursion depth of the query cannot be greater than",
        "The number of directives on the field",
    ];
    if LIMITS.iter().any(|l| message.starts_with(l)) {
        ErrorCode::QueryTooComplex
    } else {
        ErrorCode::BadUserInput
    }
}

/// A database error a resolver passed up with `?` (not through AppError)
/// carries the database's own text and no code: it becomes INTERNAL, its
/// text replaced (the cause stays for the log).
fn hide_database_error(e: &mut async_graphql::ServerError) {
    let coded = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if coded || !is_database_error(e) {
        return;
    }
    e.message = "internal error".into();
    let ext = e.extensions.get_or_insert_with(Default::default);
    ext.set("code", ErrorCode::Internal.as_str());
}

fn is_database_error(e: &async_graphql::ServerError) -> bool {
    e.source::<sea_orm::DbErr>().is_some()
        || e.source::<sea_orm::TransactionError<sea_orm::DbErr>>()
            .is_some()
}

/// What an INTERNAL error came from: an AppError's cause, or the database
/// error a resolver passed up with `?`.
fn internal_cause(e: &async_graphql::ServerError) -> Option<&(dyn std::error::Error + 'static)> {
    if let Some(cause) = e.source::<anyhow::Error>() {
        return Some(cause.as_ref());
    }
    if let Some(db) = e.source::<sea_orm::DbErr>() {
        return Some(db);
    }
    e.source::<sea_orm::TransactionError<sea_orm::DbErr>>()
        .map(|t| t as &(dyn std::error::Error + 'static))
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn me(&self) -> Query {
            Query
        }
        async fn n(&self) -> i32 {
            1
        }
    }

    /// Each engine limit is QUERY_TOO_COMPLEX and a plain validation error
    /// BAD_USER_INPUT: fails when an async-graphql upgrade rewords one.
    #[tokio::test]
    async fn engine_limits_are_query_too_complex() {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_complexity(3)
            .limit_depth(3)
            .limit_recursive_depth(5)
            .limit_directives(1)
            .finish();
        let code = |q: &'static str| {
            let schema = schema.clone();
            async move {
                let r = schema.execute(q).await;
                assert_eq!(r.errors.len(), 1, "{q}: {:?}", r.errors);
                engine_error_code(&r.errors[0].message)
            }
        };
        for q in [
            "{ a: n b: n c: n d: n }",
            "{ me { me { me { n } } } }",
            "{ me { me { me { me { me { me { n } } } } } } }",
            "{ n @skip(if: false) @include(if: true) }",
        ] {
            assert_eq!(code(q).await, ErrorCode::QueryTooComplex, "{q}");
        }
        assert_eq!(code("{ nope }").await, ErrorCode::BadUserInput);
        assert_eq!(code("{ n").await, ErrorCode::BadUserInput);
    }
}
