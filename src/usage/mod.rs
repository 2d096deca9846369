//! Usage counters (rules.md / contract `UsageMetric`). Counting never adds a
//! database write to the request path: increments land in memory and are
//! flushed in batches into per-day rows (`usage_counters`).

mod flush;
pub mod series;

pub use flush::flush;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use parking_lot::Mutex;
use uuid::Uuid;

pub use crate::entity::enums::UsageMetric;

impl UsageMetric {
    /// PEAK_SEATS keeps the maximum; every other metric is a sum.
    pub fn is_peak(self) -> bool {
        matches!(self, UsageMetric::PeakSeats)
    }
}

pub type Key = (Uuid, NaiveDate, UsageMetric);

/// Pending increments (sums) and peaks, keyed by organization, UTC day, metric.
#[derive(Default)]
pub struct Usage {
    pending: Mutex<HashMap<Key, i64>>,
    /// Held for writing while a flush moves entries from memory into the
    /// database, and for reading while a query reads both: a reader never
    /// sees an entry twice (in memory and stored) nor misses one in flight.
    gate: tokio::sync::RwLock<()>,
}

impl Usage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `n` to a summed metric.
    pub fn incr(&self, org: Uuid, metric: UsageMetric, n: i64, at: DateTime<Utc>) {
        debug_assert!(!metric.is_peak());
        *self
            .pending
            .lock()
            .entry((org, at.date_naive(), metric))
            .or_insert(0) += n;
    }

    /// Record the seats in use after a change (PEAK_SEATS keeps the max).
    pub fn seats_in_use(&self, org: Uuid, seats: i64, at: DateTime<Utc>) {
        let mut p = self.pending.lock();
        let e = p
            .entry((org, at.date_naive(), UsageMetric::PeakSeats))
            .or_insert(seats);
        *e = (*e).max(seats);
    }

    /// Take everything pending (the flusher writes it; on failure it puts it back).
    pub fn take(&self) -> HashMap<Key, i64> {
        std::mem::take(&mut *self.pending.lock())
    }

    /// Pending values of one organization for days in `[from, to)`.
    pub fn pending_for(
        &self,
        org: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<(NaiveDate, UsageMetric, i64)> {
        self.pending
            .lock()
            .iter()
            .filter(|((o, day, _), _)| *o == org && *day >= from && *day < to)
            .map(|((_, day, m), v)| (*day, *m, *v))
            .collect()
    }

    /// Return entries that could not be written, merged with newer ones.
    pub fn restore(&self, entries: HashMap<Key, i64>) {
        let mut p = self.pending.lock();
        for (k, v) in entries {
            let e = p.entry(k).or_insert(if k.2.is_peak() { v } else { 0 });
            if k.2.is_peak() {
                *e = (*e).max(v);
            } else {
                *e += v;
            }
        }
    }
}
