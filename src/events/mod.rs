//! Seat-change events (and the access changes that end subscriptions),
//! published only after the transaction that caused them commits, in commit
//! order per organization.
//!
//! SQLite (one instance): a transaction records its events and publishes
//! them right after COMMIT while still holding the write gate, so commit
//! order is publish order. PostgreSQL: the transaction sends `pg_notify`
//! before COMMIT; PostgreSQL delivers notifications at commit, in commit
//! order, to every instance LISTENing — including this one — and each
//! instance forwards them to its own subscribers (`pg::listen`).

pub mod pg;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

pub const CHANNEL: &str = "orgraph_events";

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatChangeKind {
    Assigned,
    Revoked,
    LimitChanged,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeatChange {
    pub kind: SeatChangeKind,
    pub organization_id: Uuid,
    pub account_id: Option<Uuid>,
    pub used: i64,
    pub limit: i64,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Event {
    Seat(SeatChange),
    /// Someone's rights in an organization may have shrunk (role change,
    /// removal, service-account deletion): their subscriptions re-check.
    AccessChanged {
        organization_id: Uuid,
        account_id: Option<Uuid>,
        service_account_id: Option<Uuid>,
    },
}

impl Event {
    pub fn organization_id(&self) -> Uuid {
        match self {
            Event::Seat(s) => s.organization_id,
            Event::AccessChanged {
                organization_id, ..
            } => *organization_id,
        }
    }
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    /// Bounds how many subscribe-time authorization reads run at once. A
    /// dashboard fleet reconnecting opens thousands of subscriptions in the
    /// same instant; each read holds ~15 KiB of query state while it waits
    /// for one of the pool's few connections, and glibc keeps that peak
    /// resident afterwards (10,000 at once: ~150 MiB). Queued subscribers
    /// wait here instead, holding almost nothing.
    admission: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Subscribe-time checks in flight at once (the SQLite pool has 8
/// connections; PostgreSQL's default 10).
const ADMISSIONS: usize = 16;

impl EventBus {
    /// `capacity` is how far a subscriber may fall behind before it is told
    /// and dropped (a slow subscriber never slows the publisher).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        EventBus {
            tx,
            admission: std::sync::Arc::new(tokio::sync::Semaphore::new(ADMISSIONS)),
        }
    }

    /// A turn to run a subscription's authorization read (see `admission`).
    pub async fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.admission.clone().acquire_owned().await.ok()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    pub fn publish(&self, e: Event) {
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }
}

pub fn seat(
    kind: SeatChangeKind,
    org_id: Uuid,
    limit: i32,
    account_id: Option<Uuid>,
    used: i64,
    at: DateTime<Utc>,
) -> Event {
    Event::Seat(SeatChange {
        kind,
        organization_id: org_id,
        account_id,
        used,
        limit: limit as i64,
        occurred_at: at,
    })
}
