//! Seat-change events, published after commit. In-process fan-out through a
//! broadcast channel; subscribers filter by organization.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::entity::organization;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
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

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SeatChange>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        EventBus { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SeatChange> {
        self.tx.subscribe()
    }

    pub fn publish(&self, e: SeatChange) {
        // No subscriber is not an error.
        let _ = self.tx.send(e);
    }

    fn emit(
        &self,
        kind: SeatChangeKind,
        org: &organization::Model,
        account_id: Option<Uuid>,
        used: i64,
        at: DateTime<Utc>,
    ) {
        self.publish(SeatChange {
            kind,
            organization_id: org.id,
            account_id,
            used,
            limit: org.seat_limit as i64,
            occurred_at: at,
        });
    }

    pub fn limit_changed(&self, org: &organization::Model, used: i64, at: DateTime<Utc>) {
        self.emit(SeatChangeKind::LimitChanged, org, None, used, at);
    }

    pub fn seat_assigned(
        &self,
        org: &organization::Model,
        account_id: Uuid,
        used: i64,
        at: DateTime<Utc>,
    ) {
        self.emit(SeatChangeKind::Assigned, org, Some(account_id), used, at);
    }

    pub fn seat_revoked(
        &self,
        org: &organization::Model,
        account_id: Uuid,
        used: i64,
        at: DateTime<Utc>,
    ) {
        self.emit(SeatChangeKind::Revoked, org, Some(account_id), used, at);
    }
}
