//! Client authentication for service accounts (HTTP Basic or body
//! parameters), the client-credentials grant, token introspection
//! (RFC 7662), revocation (RFC 7009) and sign-in URLs.

use std::collections::HashMap;

use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::oauth::{oauth_error, params, server_error, token_response, too_many};
use super::ReqId;
use crate::domain::authn::authenticate;
use crate::domain::introspection::{self, Introspector};
use crate::domain::service_accounts::{authenticate_client, ClientCheck};
use crate::domain::signin;
use crate::entity::service_account;
use crate::error::AppError;
use crate::graphql::ids::{self, NodeKind};
use crate::http::AppState;
use crate::usage::UsageMetric;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// `Authorization: Basic base64(client_id:client_secret)` (RFC 6749 §2.3.1,
/// form-urlencoded components).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

/// The client id a request presents (Basic or body), for rate limiting.
pub fn client_id_of(headers: &HeaderMap, p: &HashMap<String, String>) -> Option<String> {
    basic_credentials(headers)
        .map(|(id, _)| id)
        .or_else(|| p.get("client_id").cloned())
}

enum ClientAuth {
    None,
    Bad,
    Ok(service_account::Model),
}

/// Client credentials from the request, checked. Each argon2 check is rate
/// limited per client id (`--rate-limit-token`) and per client IP
/// (`--rate-limit-client-ip`); over the limit the answer is 429 with
/// Retry-After, before any hashing.
async fn client_auth(
    state: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
    request_id: &str,
) -> Result<ClientAuth, Response> {
    let creds =
        basic_credentials(headers).or_else(|| match (p.get("client_id"), p.get("client_secret")) {
            (Some(i), Some(s)) => Some((i.clone(), s.clone())),
            _ => None,
        });
    let Some((id, secret)) = creds else {
        return Ok(ClientAuth::None);
    };
    let gate = || state.limits.client_secret_hash(ip, &id);
    match authenticate_client(&state.services, &id, &secret, gate).await {
        Ok(ClientCheck::Ok(sa)) => Ok(ClientAuth::Ok(sa)),
        Ok(ClientCheck::Bad) => Ok(ClientAuth::Bad),
        Ok(ClientCheck::Limited(wait)) => Err(too_many(wait)),
        Err(e) => Err(server_error(request_id, &e)),
    }
}

fn invalid_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}

pub async fn client_credentials(
    state: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    p: &HashMap<String, String>,
    request_id: &str,
) -> Response {
    let sa = match client_auth(state, ip, headers, p, request_id).await {
        Ok(ClientAuth::Ok(sa)) => sa,
        Ok(_) => return invalid_client(),
        Err(r) => return r,
    };
    let now = state.services.clock.now();
    state
        .services
        .usage
        .incr(sa.organization_id, UsageMetric::ApiRequests, 1, now);
    // lastUsedAt of the service account: one write per token request.
    let _ = service_account::Entity::update_many()
        .col_expr(
            service_account::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(service_account::Column::Id.eq(sa.id))
        .exec(&state.services.db.conn)
        .await;
    match state
        .services
        .keys
        .issue(sa.id, "service", Some(sa.organization_id), now)
    {
        Ok(jwt) => token_response(jwt, state.services.keys.ttl_seconds()),
        Err(e) => server_error(request_id, &AppError::internal(e)),
    }
}

fn inactive() -> Response {
    axum::Json(json!({ "active": false })).into_response()
}

/// RFC 7662. The caller is a service account (client credentials; it learns
/// only about its own organization's tokens) or a site admin's bearer JWT.
pub async fn introspect(
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
    let who = match client_auth(&state, peer.ip(), &headers, &p, &request_id).await {
        Ok(ClientAuth::Ok(sa)) => Introspector::ServiceAccountOf(sa.organization_id),
        Ok(ClientAuth::Bad) => return invalid_client(),
        Err(r) => return r,
        Ok(ClientAuth::None) => {
            let bearer = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match authenticate(&state.services, bearer).await {
                Ok(p) if p.is_site_admin() => Introspector::SiteAdmin,
                Ok(_) | Err(AppError::Unauthenticated) => return invalid_client(),
                Err(e) => return server_error(&request_id, &e),
            }
        }
    };
    let Some(token) = p.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    match introspection::introspect(&state.services, token, &who).await {
        Ok(Some(i)) => {
            let scopes: Vec<String> = serde_json::from_str(&i.token.scopes).unwrap_or_default();
            axum::Json(json!({
                "active": true,
                "sub": ids::encode(NodeKind::Account, i.token.account_id).0,
                "org": i.org_handle,
                "scope": scopes.join(" "),
                "exp": i.expires_at.timestamp(),
                "iat": i.token.created_at.timestamp(),
                "token_type": "access_token",
            }))
            .into_response()
        }
        Ok(None) => inactive(),
        Err(e) => server_error(&request_id, &e),
    }
}

/// RFC 7009: the holder revokes its token; always 200.
pub async fn revoke(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match params(&headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(token) = p.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    match introspection::revoke_by_holder(&state.services, token).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => server_error(&request_id, &e),
    }
}

/// `GET /signin/{token}`: a session JWT scoped to the link's organization,
/// while the link is live and the rules that allowed it still hold.
pub async fn signin(
    State(state): State<AppState>,
    ReqId(request_id): ReqId,
    Path(token): Path<String>,
) -> Response {
    match signin::redeem(&state.services, &token).await {
        Ok(Some((account, scope))) => {
            match state.services.keys.issue_impersonation(
                account,
                scope,
                state.services.clock.now(),
            ) {
                Ok(jwt) => token_response(jwt, state.services.keys.ttl_seconds()),
                Err(e) => server_error(&request_id, &AppError::internal(e)),
            }
        }
        Ok(None) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "the sign-in link is invalid or has expired",
        ),
        Err(e) => server_error(&request_id, &e),
    }
}
