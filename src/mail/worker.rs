//! The delivery worker: delivers due outbox rows, at least once.
//!
//! A row is claimed by moving its `next_attempt_at` a lease ahead with a
//! conditional UPDATE, so two instances sharing a database do not both send
//! it, and a crash mid-send only delays it by the lease. Failures back off
//! exponentially (5 s, 10 s, … capped at 30 min) and after `MAX_ATTEMPTS`
//! the row is marked `failed_at` and left for an operator. Marking a row
//! sent or failed blanks its bodies in the same statement (they carry the
//! recipient's tokens and links). Times come from the app clock, so tests
//! move the clock instead of waiting for backoff.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::transport::{self, Transport};
use super::Outbox;
use crate::clock::Clock;
use crate::entity::mail_outbox::{self, Column};
use crate::metrics::Metrics;

pub const MAX_ATTEMPTS: i32 = 12;
const BATCH: u64 = 64;
const PARALLEL: usize = 8;
/// How long a claimed row is left alone before another pass may retry it.
const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Fallback look at the table (rows from other instances, clock moves).
const IDLE_POLL: Duration = Duration::from_secs(60);

pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 20) - 1;
    let secs = 5i64.saturating_mul(1i64 << exp).min(30 * 60);
    chrono::Duration::seconds(secs)
}

/// Blank a row's bodies (the subject, recipient and kind stay for the
/// operator). Part of the UPDATE that marks the row sent or failed, so a
/// mail's secrets exist in clear only while it may still be delivered.
fn erase_body(
    upd: sea_orm::UpdateMany<mail_outbox::Entity>,
) -> sea_orm::UpdateMany<mail_outbox::Entity> {
    upd.col_expr(Column::BodyText, Expr::value(String::new()))
        .col_expr(Column::BodyHtml, Expr::value(Option::<String>::None))
}

pub struct Worker {
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub transport: Transport,
    pub from: lettre::message::Mailbox,
}

/// Spawn the worker; `outbox` wakes and stops it.
pub async fn start(w: Worker, outbox: &Outbox) {
    let handle = outbox.clone();
    let task = tokio::spawn(async move { w.run(handle).await });
    outbox.set_task(task).await;
}

impl Worker {
    async fn run(self, outbox: Outbox) {
        let mut stop = outbox.stop_signal();
        loop {
            let notified = outbox.notified();
            let next = match self.pass().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "mail outbox pass failed");
                    Some(self.clock.now() + chrono::Duration::seconds(5))
                }
            };
            if *stop.borrow() {
                break;
            }
            let wait = next
                .map(|t| (t - self.clock.now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(IDLE_POLL)
                .min(IDLE_POLL);
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Deliver everything due; return when the next pending row is due.
    pub async fn pass(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        loop {
            let now = self.clock.now();
            let due = mail_outbox::Entity::find()
                .filter(Column::SentAt.is_null())
                .filter(Column::FailedAt.is_null())
                .filter(Column::NextAttemptAt.lte(now))
                .order_by_asc(Column::NextAttemptAt)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            if due.is_empty() {
                break;
            }
            // A few deliveries at once: an SMTP round trip is mostly waiting.
            let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(due)
                .map(|row| self.attempt(row))
                .buffer_unordered(PARALLEL)
                .collect()
                .await;
            results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
        }
        let pending = mail_outbox::Entity::find()
            .filter(Column::SentAt.is_null())
            .filter(Column::FailedAt.is_null());
        let backlog = pending.clone().count(&self.db).await?;
        self.metrics.outbox_backlog.set(backlog as i64);
        if backlog == 0 {
            return Ok(None);
        }
        let next = pending
            .order_by_asc(Column::NextAttemptAt)
            .one(&self.db)
            .await?
            .map(|r| r.next_attempt_at);
        Ok(next)
    }

    async fn attempt(&self, row: mail_outbox::Model) -> anyhow::Result<()> {
        let now = self.clock.now();
        let claimed = mail_outbox::Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(now + LEASE))
            .filter(Column::Id.eq(row.id))
            .filter(Column::NextAttemptAt.eq(row.next_attempt_at))
            .filter(Column::SentAt.is_null())
            .exec(&self.db)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            return Ok(());
        }
        let attempts = row.attempts + 1;
        match self.transport.deliver(&self.from, &row).await {
            Ok(()) => {
                // The body carries the recipient's secrets (tokens, links):
                // erased by the statement that marks the row sent.
                erase_body(
                    mail_outbox::Entity::update_many()
                        .col_expr(Column::SentAt, Expr::value(self.clock.now()))
                        .col_expr(Column::Attempts, Expr::value(attempts))
                        .col_expr(Column::LastError, Expr::value(Option::<String>::None)),
                )
                .filter(Column::Id.eq(row.id))
                .exec(&self.db)
                .await?;
                self.metrics.mails_sent.inc();
            }
            Err(e) => {
                self.metrics.mail_failures.inc();
                let error: String = format!("{e:#}").chars().take(500).collect();
                let now = self.clock.now();
                let give_up = attempts >= MAX_ATTEMPTS;
                tracing::warn!(
                    mail = %row.id, kind = row.kind.as_str(), attempts, give_up, error = %error,
                    "mail delivery failed"
                );
                let mut upd = mail_outbox::Entity::update_many()
                    .col_expr(Column::Attempts, Expr::value(attempts))
                    .col_expr(Column::LastError, Expr::value(Some(error)))
                    .col_expr(Column::NextAttemptAt, Expr::value(now + backoff(attempts)));
                if give_up {
                    // Abandoned mail is never sent: its secrets go now.
                    upd = erase_body(upd.col_expr(Column::FailedAt, Expr::value(Some(now))));
                }
                upd.filter(Column::Id.eq(row.id)).exec(&self.db).await?;
            }
        }
        Ok(())
    }
}

/// Build the worker for a config and start it.
pub async fn spawn(
    config: &crate::config::Config,
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    outbox: &Outbox,
) -> anyhow::Result<()> {
    let w = Worker {
        transport: Transport::from_config(&config.mail)?,
        from: transport::sender(&config.public_url()),
        db,
        clock,
        metrics,
    };
    start(w, outbox).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(super::backoff(1).num_seconds(), 5);
        assert_eq!(super::backoff(2).num_seconds(), 10);
        assert_eq!(super::backoff(4).num_seconds(), 40);
        assert_eq!(super::backoff(12).num_seconds(), 1800);
    }
}
