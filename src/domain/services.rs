//! What every domain function may use, built once by the composition root
//! (`app.rs`) and shared by all requests: the database, the clock, the
//! password hasher, the event bus, the mail outbox, usage counters, signing
//! keys and the configuration. Nothing here knows about HTTP or GraphQL; the
//! HTTP state (`http::AppState`) holds a `Services` beside the schema, the
//! rate limiters and the document cache.

use std::sync::Arc;

use crate::auth::jwt::Keys;
use crate::auth::password::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::events::EventBus;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<Keys>,
    pub clock: Arc<dyn Clock>,
    pub hasher: Hasher,
    /// Counters the database layer and the API report into (`/metrics`).
    pub metrics: Arc<Metrics>,
    pub events: EventBus,
    /// Access-token, service-account and sign-in-link lastUsedAt times,
    /// written in batches.
    pub last_used: Arc<super::last_used::LastUsed>,
    /// Client secrets already verified with argon2 (see SecretCache).
    pub client_secrets: Arc<super::service_accounts::SecretCache>,
    /// In-memory usage counters, flushed into daily rows.
    pub usage: Arc<crate::usage::Usage>,
    /// Key for tamper-evident cursors, derived from the signing key.
    pub cursor_key: Arc<[u8; 32]>,
    /// The mail outbox worker: `wake()` after committing mail, `stop()` at shutdown.
    pub mail: crate::mail::Outbox,
}

impl Services {
    /// Move the pending usage counters into their daily rows.
    pub async fn flush_usage(&self) -> crate::error::AppResult<usize> {
        crate::usage::flush(&self.db, &self.usage).await
    }

    /// Write the pending lastUsedAt times.
    pub async fn flush_last_used(&self) -> crate::error::AppResult<()> {
        self.last_used.flush(&self.db.conn).await
    }
}
