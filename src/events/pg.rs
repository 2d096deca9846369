//! PostgreSQL LISTEN: every instance forwards what any instance committed.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

use super::{Event, EventBus, CHANNEL};

async fn connect(url: &str) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut l = PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// LISTEN on `url` (returns once listening, so no event committed after
/// start-up is missed), then forward forever, reconnecting when the
/// connection drops. Notifications sent while disconnected are lost.
pub async fn listen(url: String, bus: EventBus) -> anyhow::Result<()> {
    let first = connect(&url).await?;
    tokio::spawn(async move {
        let mut listener = Some(first);
        loop {
            let l = match listener.take() {
                Some(l) => Ok(l),
                None => connect(&url).await,
            };
            match l {
                Ok(mut l) => loop {
                    match l.recv().await {
                        Ok(n) => match serde_json::from_str::<Event>(n.payload()) {
                            Ok(e) => bus.publish(e),
                            Err(e) => tracing::warn!(error = %e, "unreadable event notification"),
                        },
                        Err(e) => {
                            tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, "event listener cannot connect; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Ok(())
}
