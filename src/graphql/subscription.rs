//! `Subscription.seatChanges`. Authorization is decided from fresh rows at
//! subscribe time and again whenever an event says the subscriber's access
//! may have shrunk (removal, demotion, service-account deletion) or when the
//! session's JWT expires; a subscriber that falls behind is told and ended.

use async_graphql::{Context, Object, Result, Subscription, ID};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::account::Account;
use super::enums::SeatChangeKind;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use crate::domain::read::accounts;
use crate::domain::read::subscriptions::{concerns, may_watch_seats};
use crate::domain::Caller;
use crate::error::AppError;
use crate::events::{Event, SeatChange};
use crate::metrics::Metrics;

/// When the websocket session's JWT expires (set at connection_init).
#[derive(Clone, Copy)]
pub struct SessionExpiry(pub DateTime<Utc>);

pub struct SeatChangeEvent(pub SeatChange);

#[Object(name = "SeatChange")]
impl SeatChangeEvent {
    async fn kind(&self) -> SeatChangeKind {
        self.0.kind.into()
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Organization::load(ctx, self.0.organization_id).await
    }
    /// Null for LIMIT_CHANGED.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = self.0.account_id else {
            return Ok(None);
        };
        let c = ctx.data::<Caller>()?;
        // A seat revoked by a removal names an account that may share no
        // organization with the subscriber any more: its email as
        // `accounts::named` shows it.
        Ok(accounts::named(c, Some(id)).await?.map(Into::into))
    }
    async fn used(&self) -> i32 {
        self.0.used as i32
    }
    async fn limit(&self) -> i32 {
        self.0.limit as i32
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// Counts live subscriptions on /metrics.
struct Live(std::sync::Arc<Metrics>);

impl Live {
    fn new(m: std::sync::Arc<Metrics>) -> Self {
        m.ws_subscribers.inc();
        Live(m)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.ws_subscribers.dec();
    }
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Seat changes of one organization, to its admins and billing managers; delivered across every server instance sharing the database.
    async fn seat_changes(
        &self,
        ctx: &Context<'_>,
        organization: ID,
    ) -> Result<impl Stream<Item = Result<SeatChangeEvent>>> {
        let c = ctx.data::<Caller>()?.clone();
        let expiry = ctx.data_opt::<SessionExpiry>().copied();
        let org_id = ids::decode(&organization, NodeKind::Organization, &["organization"])?;
        // Subscribe before checking, so nothing committed after the check is missed.
        let rx = c.services.events.subscribe();
        {
            let _turn = c.services.events.admit().await;
            may_watch_seats(&c, org_id).await?;
        }
        let live = Live::new(c.services.metrics.clone());
        struct S {
            rx: tokio::sync::broadcast::Receiver<Event>,
            c: Caller,
            org_id: Uuid,
            expiry: Option<SessionExpiry>,
            done: bool,
            _live: Live,
        }
        let state = S {
            rx,
            c,
            org_id,
            expiry,
            done: false,
            _live: live,
        };
        Ok(futures_util::stream::unfold(state, |mut s| async move {
            if s.done {
                return None;
            }
            loop {
                match s.rx.recv().await {
                    Ok(e) if e.organization_id() != s.org_id => continue,
                    Ok(Event::Seat(change)) => {
                        if s.expiry.is_some_and(|e| e.0 <= s.c.now()) {
                            return None;
                        }
                        return Some((Ok(SeatChangeEvent(change)), s));
                    }
                    Ok(e) => {
                        // Boxed: the database read's future is large, and
                        // inlined it would sit in every idle subscription's
                        // state (thousands of them) while it waits on recv.
                        if concerns(&s.c.principal, &e) {
                            match Box::pin(may_watch_seats(&s.c, s.org_id)).await {
                                Ok(()) => {}
                                // Ends with the error, which the pipeline logs.
                                Err(e @ AppError::Internal(_)) => {
                                    s.done = true;
                                    return Some((Err(e.into()), s));
                                }
                                Err(_) => return None,
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        s.c.services.metrics.ws_dropped_for_lag.inc();
                        s.done = true;
                        let e: async_graphql::Error = AppError::RateLimited.into();
                        let msg = format!("this subscriber fell {n} events behind and was dropped; subscribe again");
                        return Some((Err(async_graphql::Error { message: msg, ..e }), s));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }))
    }
}
