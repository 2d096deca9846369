//! Routes. Every request gets an `x-request-id` (generated unless the
//! client sent one) that is echoed back, put on the tracing span, and
//! attached to every INTERNAL error.

pub mod documents;
pub mod graphiql;
pub mod graphql;
pub mod limits;
pub mod oauth;
pub mod oauth_client;
pub mod ops;
pub mod pipeline;
mod state;
pub mod ws;

pub use state::AppState;

use std::time::Duration;

use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Outer cap on any body. The GraphQL handler refuses JSON over 1 MiB and
/// uploaded files over 1 MiB with a GraphQL error (BAD_USER_INPUT); this cap
/// is above both so that an oversized upload gets that answer, not a bare 413.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

pub fn request_id_of<B>(req: &Request<B>) -> String {
    request_id_in(req.extensions())
}

fn request_id_in(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<RequestId>()
        .and_then(|r| r.header_value().to_str().ok())
        .unwrap_or("-")
        .to_string()
}

/// A handler's request id (`x-request-id`), for its INTERNAL answers and
/// their log line; "-" when the layer set none.
pub struct ReqId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ReqId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ReqId(request_id_in(&parts.extensions)))
    }
}

/// The request path as logs may show it: a sign-in link's token (the
/// path's secret segment) is masked, `/signin/***`, in any letter case.
pub fn loggable_path(path: &str) -> &str {
    let p = path.as_bytes();
    if p.len() >= 7 && p[..7].eq_ignore_ascii_case(b"/signin") {
        "/signin/***"
    } else {
        path
    }
}

fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{header, HeaderValue, Method};
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(list)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("apollo-require-preflight"),
                HeaderName::from_static("x-orgraph-csrf"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// /metrics alone, for `--metrics-bind` (an address operators can keep off
/// the public network: it shows every tenant's operation names).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .with_state(state)
}

pub fn router(state: AppState) -> Router {
    let metrics = state.services.metrics.clone();
    let cors = cors(&state.services.config.cors_origins);
    // With --metrics-bind, /metrics is served there only (404 here).
    let metrics_here = state.services.config.metrics_bind.is_none();
    let routes = Router::new()
        .route("/", get(graphiql::page))
        .route("/graphiql/assets/{*path}", get(graphiql::asset))
        .route(
            "/graphql",
            post(graphql::post_graphql).get(graphql::get_graphql),
        )
        .route("/graphql/ws", get(ws::websocket))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/introspect", post(oauth_client::introspect))
        .route("/oauth/revoke", post(oauth_client::revoke))
        .route("/signin/{token}", get(oauth_client::signin))
        .route("/.well-known/jwks.json", get(ops::jwks))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz));
    let routes = if metrics_here {
        routes.route("/metrics", get(ops::metrics))
    } else {
        routes
    };
    routes
        .with_state(state)
        .layer(tower::util::option_layer(cors))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // axum's own extractor limit (2 MB by default) follows ours.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %loggable_path(req.uri().path()),
                        request_id = %request_id_of(req),
                    )
                })
                .on_response(
                    move |res: &axum::http::Response<_>,
                          latency: Duration,
                          _span: &tracing::Span| {
                        metrics.request_seconds.observe(latency.as_secs_f64());
                        tracing::debug!(
                            status = res.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "response"
                        );
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
