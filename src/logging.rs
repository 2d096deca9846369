//! Structured logs through `tracing`, pretty or JSON; level from RUST_LOG.
//!
//! No secret reaches the log at any level, trace included (DESIGN.md). Our
//! own events never carry one; some libraries' do, so their targets are
//! capped below the level where they print frames, headers, bodies or
//! statements, whatever RUST_LOG asks for (see [`CAPS`]). The request span
//! records a path with any secret segment masked (`crate::http`).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The most a library target may log, and why it may not log more.
pub const CAPS: &[(&str, LevelFilter)] = &[
    // websocket frames at trace/debug: connection_init carries the bearer JWT.
    ("tungstenite", LevelFilter::INFO),
    ("tokio_tungstenite", LevelFilter::INFO),
    // rejection details at trace can quote request bodies (JSON errors).
    ("axum", LevelFilter::INFO),
    ("axum_core", LevelFilter::INFO),
    // HTTP/1 and HTTP/2 internals: headers (Authorization) at trace.
    ("hyper", LevelFilter::INFO),
    ("hyper_util", LevelFilter::INFO),
    ("h2", LevelFilter::INFO),
    // statements (with bound values, when statement logging is on) at debug/info.
    ("sqlx", LevelFilter::WARN),
    ("sea_orm", LevelFilter::WARN),
    ("sea_orm_migration", LevelFilter::INFO),
    // SMTP transcripts carry the mail bodies, which carry tokens and links.
    ("lettre", LevelFilter::WARN),
    // TLS handshakes; nothing we need below info.
    ("rustls", LevelFilter::INFO),
];

/// The cap filter: everything passes except capped targets above their cap.
pub fn caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPS.iter().copied())
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(caps()).with(filter);
    let _ = match format {
        LogFormat::Json => registry.with(fmt.json().flatten_event(true)).try_init(),
        LogFormat::Pretty => registry.with(fmt.compact()).try_init(),
    };
}
