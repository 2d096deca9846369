//! The flusher: every `--usage-flush-seconds` it moves the pending counters
//! into per-day rows in one transaction, and once more at shutdown. A hard
//! kill therefore loses at most one interval of counting. On a failed write
//! the entries go back into memory and the next flush retries them.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{EntityTrait, Set};

use super::Key;
use super::Usage;
use crate::db::Db;
use crate::entity::usage_counter::{self, Column};
use crate::error::AppResult;

/// Rows per INSERT: 4 bound values each, far below either database's limit.
const CHUNK: usize = 500;

/// Write everything pending; returns how many (organization, day, metric)
/// entries were stored.
pub async fn flush(db: &Db, usage: &Usage) -> AppResult<usize> {
    let _gate = usage.gate.write().await;
    let entries = usage.take();
    if entries.is_empty() {
        return Ok(0);
    }
    let n = entries.len();
    match write(db, &entries).await {
        Ok(()) => Ok(n),
        Err(e) => {
            usage.restore(entries);
            Err(e)
        }
    }
}

async fn write(db: &Db, entries: &HashMap<Key, i64>) -> AppResult<()> {
    let (peaks, sums): (Vec<_>, Vec<_>) = entries.iter().partition(|(k, _)| k.2.is_peak());
    let tx = db.write_tx().await?;
    for (rows, peak) in [(sums, false), (peaks, true)] {
        for chunk in rows.chunks(CHUNK) {
            let models = chunk
                .iter()
                .map(|((org, day, metric), v)| usage_counter::ActiveModel {
                    organization_id: Set(*org),
                    day: Set(*day),
                    metric: Set(*metric),
                    value: Set(**v),
                });
            let stored = Expr::col((usage_counter::Entity, Column::Value));
            let incoming = Expr::col((Alias::new("excluded"), Column::Value));
            // Sums add up; PEAK_SEATS keeps the larger (CASE: both databases).
            let merged = if peak {
                Expr::case(incoming.clone().gt(stored.clone()), incoming)
                    .finally(stored)
                    .into()
            } else {
                stored.add(incoming)
            };
            usage_counter::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([Column::OrganizationId, Column::Day, Column::Metric])
                        .value(Column::Value, merged)
                        .to_owned(),
                )
                .exec_without_returning(&*tx)
                .await?;
        }
    }
    tx.commit().await
}
