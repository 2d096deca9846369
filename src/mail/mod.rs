//! Transactional mail outbox (rules.md "Mail", invariant 5).
//!
//! A mail is a `mail_outbox` row written by [`enqueue`] inside the caller's
//! transaction, so it exists exactly when the change that caused it does.
//! A background [`worker`] delivers due rows at least once through the
//! configured [`transport`], retrying with exponential backoff; rows stay in
//! the table until delivered, so a restart loses nothing. Once a row is
//! sent or abandoned its bodies (which carry tokens and links) are blanked
//! by the same statement; recipient, kind and subject stay for operators.

pub mod templates;
pub mod transport;
pub mod worker;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::entity::mail_outbox;
use crate::error::AppResult;

/// The `X-Orgraph-Kind` values of cli.md (stored as `mail_outbox.kind`).
pub use crate::entity::enums::MailKind as Kind;

/// One mail to one recipient. `text` holds any link or secret on a line of
/// its own; it is never logged.
pub struct Mail {
    pub kind: Kind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Hand-written: the body may carry a secret meant only for the recipient.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A subject is one header line. Names are refused with control characters
/// on the way in (domain::validate); this also flattens any stored before
/// that rule, so no name can add a header or a line to a mail's head.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Write the mail into the outbox as part of the caller's transaction. The
/// caller wakes the worker (`state.mail.wake()`) after committing.
pub async fn enqueue<C: ConnectionTrait>(tx: &C, now: DateTime<Utc>, mail: Mail) -> AppResult<()> {
    let row = mail_outbox::Model {
        id: Uuid::now_v7(),
        kind: mail.kind,
        to_address: mail.to,
        subject: one_line(&mail.subject),
        body_text: mail.text,
        body_html: mail.html,
        created_at: now,
        attempts: 0,
        next_attempt_at: now,
        sent_at: None,
        failed_at: None,
        last_error: None,
    };
    mail_outbox::Entity::insert(mail_outbox::ActiveModel::from(row))
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

/// AppState's handle on the delivery worker.
#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

struct Inner {
    wake: Notify,
    stop: watch::Sender<bool>,
    done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Outbox {
    /// A handle whose worker has not been started (see [`worker::start`]).
    pub(crate) fn new() -> Self {
        let (stop, _) = watch::channel(false);
        Outbox(Arc::new(Inner {
            wake: Notify::new(),
            stop,
            done: tokio::sync::Mutex::new(None),
        }))
    }

    /// New mail was committed (or the clock moved): look at the outbox now.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Stop the worker after its current pass (which delivers whatever is
    /// due: the "flush pending mail" of a graceful shutdown) and wait for it.
    /// Undelivered rows stay in the table for the next start.
    pub async fn stop(&self) {
        self.0.stop.send_replace(true);
        self.0.wake.notify_one();
        if let Some(h) = self.0.done.lock().await.take() {
            let _ = h.await;
        }
    }

    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.wake.notified()
    }

    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.0.stop.subscribe()
    }

    pub(crate) async fn set_task(&self, h: tokio::task::JoinHandle<()>) {
        *self.0.done.lock().await = Some(h);
    }
}
