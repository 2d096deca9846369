//! The `baseline` limit: the members-page data (first 100 members with role,
//! joinedAt, seat and account id/email/names) answered by a minimal axum
//! handler — one SQL statement, serde to JSON, no GraphQL and no
//! authentication — on the same database, with the server's own pool
//! settings (`orgraph::db::connect`). Its throughput divided into
//! members-page's is the cost of our GraphQL stack.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use orgraph::graphql::ids::{self, NodeKind};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde::Serialize;
use uuid::Uuid;

const SQL: &str =
    "SELECT m.role AS role, m.created_at AS joined_at, s.assigned_at AS assigned_at, \
a.id AS account_id, a.email AS email, a.first_name AS first_name, a.last_name AS last_name \
FROM organizations o \
JOIN memberships m ON m.organization_id = o.id \
JOIN accounts a ON a.id = m.account_id \
LEFT JOIN seats s ON s.organization_id = m.organization_id AND s.account_id = m.account_id \
WHERE o.handle = {} ORDER BY m.id LIMIT 100";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeatOut {
    assigned_at: DateTime<Utc>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountOut {
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberOut {
    role: String,
    joined_at: DateTime<Utc>,
    seat: Option<SeatOut>,
    account: AccountOut,
}

struct Baseline {
    db: DatabaseConnection,
    sql: String,
}

fn internal(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn members(State(b): State<Arc<Baseline>>, Path(handle): Path<String>) -> Response {
    let stmt = Statement::from_sql_and_values(
        b.db.get_database_backend(),
        b.sql.as_str(),
        [handle.into()],
    );
    let rows = match b.db.query_all_raw(stmt).await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut nodes = Vec::with_capacity(rows.len());
    for r in rows {
        let get = || -> Result<MemberOut, sea_orm::DbErr> {
            let account_id: Uuid = r.try_get("", "account_id")?;
            Ok(MemberOut {
                role: r.try_get("", "role")?,
                joined_at: r.try_get("", "joined_at")?,
                seat: r
                    .try_get::<Option<DateTime<Utc>>>("", "assigned_at")?
                    .map(|assigned_at| SeatOut { assigned_at }),
                account: AccountOut {
                    id: ids::encode(NodeKind::Account, account_id).0,
                    email: r.try_get("", "email")?,
                    first_name: r.try_get("", "first_name")?,
                    last_name: r.try_get("", "last_name")?,
                },
            })
        };
        match get() {
            Ok(m) => nodes.push(m),
            Err(e) => return internal(e),
        }
    }
    Json(serde_json::json!({
        "data": { "organization": { "members": { "nodes": nodes } } }
    }))
    .into_response()
}

async fn router(database_url: &str) -> anyhow::Result<Router> {
    let metrics = Arc::new(orgraph::metrics::Metrics::new());
    // The server's defaults: same pool size and acquire timeout.
    let d = orgraph::Config::defaults();
    let timeout = std::time::Duration::from_secs(d.db_acquire_timeout);
    let db = orgraph::db::connect(database_url, d.db_pool, timeout, metrics)
        .await?
        .conn;
    let placeholder = match db.get_database_backend() {
        DatabaseBackend::Postgres => "$1",
        _ => "?",
    };
    let sql = SQL.replace("{}", placeholder);
    Ok(Router::new()
        .route("/orgs/{handle}/members", get(members))
        .with_state(Arc::new(Baseline { db, sql })))
}

/// Serve the baseline on a free loopback port; returns its base URL. The
/// task lives as long as the runtime.
pub async fn start(database_url: &str) -> anyhow::Result<String> {
    let app = router(database_url).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}

/// Serve the baseline on `bind` until Ctrl-C / SIGINT.
pub async fn serve(database_url: &str, bind: std::net::SocketAddr) -> anyhow::Result<()> {
    let app = router(database_url).await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
