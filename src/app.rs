//! The composition root: start-up (data dir, database, migrations, keys),
//! building the domain's `Services` and the HTTP layer's `AppState` over
//! them, the background workers, and serving with graceful shutdown. The
//! only module that imports every layer.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use tokio::net::TcpListener;

use crate::auth::jwt::{self, Keys};
use crate::auth::password::Hasher;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db;
use crate::domain::Services;
use crate::graphql;
pub use crate::http::AppState;
use crate::metrics::Metrics;

/// Open (and migrate) the database, load or create the signing key, start
/// the mail worker and the flushers: the domain's services.
pub async fn services(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let metrics = Arc::new(Metrics::with_max_operations(config.metrics_max_operations));
    let db = db::connect(
        &config.database_url(),
        config.db_pool,
        std::time::Duration::from_secs(config.db_acquire_timeout),
        metrics.clone(),
    )
    .await?;
    Migrator::up(&db.conn, None)
        .await
        .context("running migrations")?;
    let signing = jwt::load_or_generate(config.jwt_key.as_deref(), &config.data_dir)?;
    let keys = Keys::new(
        &signing,
        &config.jwt_verify_keys,
        config.issuer(),
        config.jwt_ttl,
    )?;
    let cursor_key = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"orgraph-cursor-v1");
        h.update(signing.to_bytes());
        let out: [u8; 32] = h.finalize().into();
        Arc::new(out)
    };
    let mail = crate::mail::Outbox::new();
    crate::mail::worker::spawn(
        &config,
        db.conn.clone(),
        clock.clone(),
        metrics.clone(),
        &mail,
    )
    .await?;
    let services = Services {
        hasher: Hasher::new(config.max_concurrent_hashes),
        config: Arc::new(config),
        events: db.bus.clone(),
        db,
        keys: Arc::new(keys),
        clock,
        metrics,
        usage: Arc::new(crate::usage::Usage::new()),
        last_used: Default::default(),
        client_secrets: Default::default(),
        cursor_key,
        mail,
    };
    spawn_flushers(&services);
    Ok(services)
}

impl AppState {
    /// The services, and over them the schema, limiters and document cache.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let schema = graphql::build_schema(&config);
        let limits = Arc::new(crate::http::limits::Limiters::new(&config));
        let services = services(config, clock).await?;
        let state = AppState {
            limits,
            schema,
            documents: Default::default(),
            services,
        };
        let limits = state.limits.clone();
        spawn_every(std::time::Duration::from_secs(60), move || {
            limits.shrink();
            std::future::ready(())
        });
        Ok(state)
    }

    pub async fn build_default(config: Config) -> anyhow::Result<Self> {
        Self::build(config, Arc::new(SystemClock)).await
    }
}

/// The usage and lastUsedAt flushers, every `--usage-flush-seconds` and
/// `--last-used-flush-seconds` for the life of the runtime (`serve` adds a
/// final flush after the server has drained).
fn spawn_flushers(services: &Services) {
    let every = |secs: u64| std::time::Duration::from_secs(secs);
    let s = services.clone();
    spawn_every(every(services.config.usage_flush_seconds), move || {
        let s = s.clone();
        async move {
            if let Err(e) = s.flush_usage().await {
                tracing::warn!(error = %e.report(), "flushing usage counters failed; will retry");
            }
        }
    });
    let s = services.clone();
    spawn_every(every(services.config.last_used_flush_seconds), move || {
        let s = s.clone();
        async move {
            if let Err(e) = s.flush_last_used().await {
                tracing::warn!(error = %e.report(), "flushing lastUsedAt failed");
            }
        }
    });
}

/// Run `task` every `period` (the first run one period from now).
fn spawn_every<F, Fut>(period: std::time::Duration, task: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            task().await;
        }
    });
}

/// Serve until SIGINT/SIGTERM, then drain in-flight requests.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listener = TcpListener::bind(state.services.config.bind)
        .await
        .with_context(|| format!("binding {}", state.services.config.bind))?;
    let metrics_listener = match state.services.config.metrics_bind {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr} (--metrics-bind)"))?,
        ),
        None => None,
    };
    tracing::info!(
        addr = %listener.local_addr()?,
        database = %state.services.db.backend_name(),
        "orgraph listening; GraphiQL at {}/",
        state.services.config.public_url()
    );
    serve_on(state.clone(), listener, metrics_listener, shutdown_signal()).await?;
    let services = &state.services;
    if let Err(e) = services.flush_usage().await {
        tracing::warn!(error = %e.report(), "final usage flush failed; counts since the last flush are lost");
    }
    if let Err(e) = services.flush_last_used().await {
        tracing::warn!(error = %e.report(), "final lastUsedAt flush failed");
    }
    // Deliver what is due now; anything left stays in the outbox for the next start.
    services.mail.stop().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Serve the router on `listener` (and /metrics alone on `metrics`, when
/// given) until `shutdown` resolves; then both stop accepting and drain.
/// What `serve` and the test harness run.
pub async fn serve_on(
    state: AppState,
    listener: TcpListener,
    metrics: Option<TcpListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        // Err: the sender is gone, which also means stop.
        let _ = rx.wait_for(|s| *s).await;
    };
    let main = axum::serve(
        listener,
        crate::http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stopped(stop_rx.clone()));
    let metrics = async {
        let Some(l) = metrics else {
            return Ok(());
        };
        tracing::info!(addr = %l.local_addr()?, "metrics listening");
        axum::serve(l, crate::http::metrics_router(state.clone()))
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .await
    };
    tokio::try_join!(std::future::IntoFuture::into_future(main), metrics)?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}
