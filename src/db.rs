//! Database connection, statement counting and write transactions.
//!
//! Invariants that span rows (seat limit, last admin) are enforced inside one
//! transaction that first locks the organization row. PostgreSQL: `SELECT …
//! FOR UPDATE`. SQLite has one writer: writing transactions start with
//! `BEGIN IMMEDIATE`, and inside one process they also queue on an async
//! mutex, so writers wait in line instead of spinning on SQLITE_BUSY.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QuerySelect, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};
use uuid::Uuid;

use crate::entity::organization;
use crate::error::{AppError, AppResult};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    write_gate: Option<Arc<Mutex<()>>>,
    /// Where committed events go (see events/mod.rs).
    pub bus: EventBus,
}

pub async fn connect(
    url: &str,
    pool: u32,
    acquire_timeout: Duration,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Db> {
    let is_sqlite = url.starts_with("sqlite:");
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .max_connections(if is_sqlite { pool.clamp(1, 8) } else { pool })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(acquire_timeout)
        // sqlx pings a connection when it is handed out and again when it
        // comes back: a round trip to the server (or to SQLite's worker
        // thread) on each side of every statement. The ping on return stays
        // (it discards a connection that broke during a statement); the one
        // on checkout is only worth it for a connection that sat idle, which
        // may have been cut meanwhile. Under load that is never: a members
        // page went from 9 round trips to 6 (issue 8).
        .test_before_acquire_if_idle_for(Duration::from_secs(1));
    if !is_sqlite && pg_random_page_cost_is_stock(url).await? {
        tracing::info!(
            random_page_cost = PG_RANDOM_PAGE_COST,
            "PostgreSQL's random_page_cost is its stock default (4, priced for spinning disks); orgraph's sessions use {PG_RANDOM_PAGE_COST}. Set it anywhere (postgresql.conf, ALTER DATABASE/ROLE, or options in DATABASE_URL) to choose another"
        );
        opts.map_sqlx_postgres_opts(|o: PgConnectOptions| {
            o.options([("random_page_cost", PG_RANDOM_PAGE_COST)])
        });
    }
    if is_sqlite {
        opts.map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // sqlx's worker thread hands rows over through a channel of
                // 50 by default and blocks when it is full: a 101-row page
                // then waits on the reader. 256 holds any page (max 100 + 1).
                .row_buffer_size(256)
                // Erased mail bodies (and anything else deleted or
                // overwritten) are zeroed in the file, not left in free
                // space where a copy of the file would still show them.
                .pragma("secure_delete", "on")
        });
    }
    let mut conn = Database::connect(opts).await?;
    let m = metrics.clone();
    conn.set_metric_callback(move |info| {
        m.db_queries.inc();
        // The SQL text only: bound values (hashes, emails) are never logged.
        tracing::trace!(target: "orgraph::sql", sql = %info.statement.sql, elapsed_us = info.elapsed.as_micros() as u64);
        if info.failed {
            m.db_query_errors.inc();
        }
    });
    let bus = EventBus::new(1024);
    if !is_sqlite {
        crate::events::pg::listen(url.to_string(), bus.clone()).await?;
    }
    Ok(Db {
        write_gate: is_sqlite.then(|| Arc::new(Mutex::new(()))),
        conn,
        bus,
    })
}

/// The planner cost of a random page read orgraph's PostgreSQL sessions use
/// when nobody has configured one.
///
/// PostgreSQL's stock `random_page_cost` (4) prices an index probe as a seek
/// on a spinning disk. orgraph's statements are keyed lookups over a working
/// set that lives in memory (or on SSD), and with the stock figure the
/// planner answers a members page — 100 memberships joined to their accounts
/// by primary key — with a sequential scan of the whole accounts table and a
/// hash join: 1.3 ms of backend time against 0.5 ms for 100 index probes on
/// the small bench data, and it grows with the table. 1.1 is the figure
/// PostgreSQL's documentation and the usual tuning guides give for SSDs and
/// cached data. It is only a default: a value set in postgresql.conf, by
/// `ALTER DATABASE`/`ALTER ROLE` or in the URL's `options` wins, and it is
/// a session setting of orgraph's own connections, nobody else's (issue 8).
pub const PG_RANDOM_PAGE_COST: &str = "1.1";

/// Whether `random_page_cost` is at PostgreSQL's built-in default for the
/// sessions `url` opens (`pg_settings.source` says where a value came
/// from). One short-lived connection, at start only.
async fn pg_random_page_cost_is_stock(url: &str) -> anyhow::Result<bool> {
    let mut probe = ConnectOptions::new(url.to_string());
    probe
        .sqlx_logging(false)
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5));
    let conn = Database::connect(probe).await?;
    let row = conn
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT source FROM pg_settings WHERE name = 'random_page_cost'",
        ))
        .await?;
    let source: Option<String> = match row {
        Some(r) => Some(r.try_get_by_index(0)?),
        None => None,
    };
    conn.close().await?;
    Ok(source.as_deref() == Some("default"))
}

impl Db {
    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// A transaction that will write. On SQLite it holds the process-wide
    /// write gate and starts with BEGIN IMMEDIATE.
    pub async fn write_tx(&self) -> AppResult<WriteTx<'_>> {
        let guard = match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        let tx = self
            .conn
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(WriteTx {
            tx,
            _guard: guard,
            events: Default::default(),
            bus: self.bus.clone(),
        })
    }

    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }
}

pub struct WriteTx<'a> {
    tx: DatabaseTransaction,
    _guard: Option<MutexGuard<'a, ()>>,
    events: parking_lot::Mutex<Vec<Event>>,
    bus: EventBus,
}

impl WriteTx<'_> {
    /// Record an event to publish if, and only if, this transaction commits.
    pub fn emit(&self, e: Event) {
        self.events.lock().push(e);
    }

    /// Commit, then publish the recorded events in commit order (see
    /// events/mod.rs); the SQLite write gate is released only afterwards.
    pub async fn commit(self) -> AppResult<()> {
        let events = std::mem::take(&mut *self.events.lock());
        let postgres = self.tx.get_database_backend() == DatabaseBackend::Postgres;
        if postgres {
            for e in &events {
                let payload = serde_json::to_string(e).map_err(AppError::internal)?;
                self.tx
                    .execute_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        "SELECT pg_notify($1, $2)",
                        [crate::events::CHANNEL.into(), payload.into()],
                    ))
                    .await?;
            }
        }
        self.tx.commit().await?;
        if !postgres {
            for e in events {
                self.bus.publish(e);
            }
        }
        Ok(())
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

/// Lock the organization row for the rest of the transaction (PostgreSQL
/// `FOR UPDATE`; on SQLite the transaction already holds the write lock).
/// Returns the row as it is now, or NOT_FOUND.
pub async fn lock_org(tx: &DatabaseTransaction, org_id: Uuid) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(org_id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or(AppError::NotFound)
}

impl Db {
    pub fn backend_name(&self) -> &'static str {
        match self.backend() {
            DatabaseBackend::Postgres => "postgres",
            DatabaseBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }
}

/// Write a trailing bound `LIMIT` as a literal.
///
/// SQLite (3.47 and later; we bundle 3.51) lets the query planner read a
/// bound LIMIT, and marks the statement to be compiled again whenever that
/// parameter is bound again — which sqlx does on every execution. So every
/// `.one()` and every page would be re-prepared on every run (measured with
/// callgrind: 3 re-prepares per members page, about 5% of its CPU). A
/// literal keeps the cached statement valid; page sizes take few values, so
/// the statement cache holds them all. Statements not ending in a bound
/// integer LIMIT are returned unchanged.
pub fn inline_limit(mut stmt: Statement) -> Statement {
    use sea_orm::Value;
    let Some(values) = stmt.values.as_mut() else {
        return stmt;
    };
    let n = values.0.len();
    let tail = match stmt.db_backend {
        DatabaseBackend::Postgres => format!(" LIMIT ${n}"),
        _ => " LIMIT ?".to_string(),
    };
    if n == 0 || !stmt.sql.ends_with(&tail) {
        return stmt;
    }
    let limit: u64 = match values.0.last() {
        Some(Value::BigUnsigned(Some(v))) => *v,
        Some(Value::Unsigned(Some(v))) => u64::from(*v),
        Some(Value::BigInt(Some(v))) if *v >= 0 => *v as u64,
        Some(Value::Int(Some(v))) if *v >= 0 => *v as u64,
        _ => return stmt,
    };
    values.0.pop();
    let keep = stmt.sql.len() - tail.len();
    stmt.sql.truncate(keep);
    stmt.sql.push_str(&format!(" LIMIT {limit}"));
    if values.0.is_empty() {
        stmt.values = None;
    }
    stmt
}

/// The first row of `query` (give it `.limit(1)`), with its LIMIT inlined
/// (see `inline_limit`).
pub async fn first<M: sea_orm::FromQueryResult>(
    conn: &impl ConnectionTrait,
    query: &impl sea_orm::QueryTrait,
) -> Result<Option<M>, sea_orm::DbErr> {
    let stmt = inline_limit(query.build(conn.get_database_backend()));
    match conn.query_one_raw(stmt).await? {
        Some(row) => Ok(Some(M::from_query_result(&row, "")?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ColumnTrait, QueryFilter, QueryTrait};

    #[test]
    fn a_trailing_bound_limit_becomes_a_literal_on_both_backends() {
        use crate::entity::organization;
        for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
            let q = organization::Entity::find()
                .filter(organization::Column::Handle.eq("acme"))
                .limit(101);
            let s = inline_limit(q.build(backend));
            assert!(s.sql.ends_with(" LIMIT 101"), "{}", s.sql);
            assert_eq!(s.values.as_ref().map(|v| v.0.len()), Some(1), "{}", s.sql);
            // Without a limit: unchanged.
            let q = organization::Entity::find().filter(organization::Column::Handle.eq("acme"));
            let before = q.build(backend);
            assert_eq!(inline_limit(before.clone()).sql, before.sql);
        }
    }
}
