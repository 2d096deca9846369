//! Prometheus metrics, one registry per running app (tests run several apps
//! in one process and must each see their own counts).

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub operation: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListLabels {
    /// `plain` (built in memory in one pass) or `generic` (async-graphql's
    /// per-field futures); see `graphql::plain`.
    pub path: &'static str,
}

/// Reserved operation labels: the operations of anonymous callers, those
/// without a name, and those past the cap of distinct names (or with a name
/// that is not a plain GraphQL name).
pub const ANONYMOUS: &str = "anonymous";
pub const UNNAMED: &str = "unnamed";
pub const OTHER: &str = "other";

/// Default for `--metrics-max-operations`.
pub const DEFAULT_MAX_OPERATIONS: usize = 200;

pub struct Metrics {
    registry: Registry,
    /// Operation names that have a label of their own: the first
    /// `max_operations` distinct names signed-in callers sent. Bounded, so
    /// no client can grow the label set (and /metrics) without end.
    operations: parking_lot::Mutex<std::collections::HashSet<Box<str>>>,
    max_operations: usize,
    /// `graphql_lists{path="plain"}` and `{path="generic"}`, created once:
    /// counted on every list, so no label lookup there.
    pub lists_plain: Counter<u64, AtomicU64>,
    pub lists_generic: Counter<u64, AtomicU64>,
    pub db_queries: Counter<u64, AtomicU64>,
    pub db_query_errors: Counter<u64, AtomicU64>,
    pub requests: Family<RequestLabels, Counter<u64, AtomicU64>>,
    pub request_seconds: Histogram,
    pub ws_subscribers: Gauge<i64, AtomicI64>,
    pub ws_dropped_for_lag: Counter<u64, AtomicU64>,
    pub outbox_backlog: Gauge<i64, AtomicI64>,
    pub mails_sent: Counter<u64, AtomicU64>,
    pub mail_failures: Counter<u64, AtomicU64>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::with_max_operations(DEFAULT_MAX_OPERATIONS)
    }

    /// At most `max_operations` operation names get their own label.
    pub fn with_max_operations(max_operations: usize) -> Self {
        let mut registry = Registry::with_prefix("orgraph");
        let db_queries = Counter::default();
        registry.register(
            "db_queries",
            "SQL statements sent to the database",
            db_queries.clone(),
        );
        let db_query_errors = Counter::default();
        registry.register(
            "db_query_errors",
            "SQL statements that failed",
            db_query_errors.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation and outcome",
            requests.clone(),
        );
        let graphql_lists = Family::<ListLabels, Counter>::default();
        registry.register(
            "graphql_lists",
            "Lists of objects that could take the in-memory path, by the path they took",
            graphql_lists.clone(),
        );
        let lists_plain = graphql_lists
            .get_or_create(&ListLabels { path: "plain" })
            .clone();
        let lists_generic = graphql_lists
            .get_or_create(&ListLabels { path: "generic" })
            .clone();
        let request_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            request_seconds.clone(),
        );
        let ws_subscribers = Gauge::default();
        registry.register(
            "ws_subscribers",
            "Active websocket subscriptions",
            ws_subscribers.clone(),
        );
        let ws_dropped_for_lag = Counter::default();
        registry.register(
            "ws_dropped_for_lag",
            "Subscriptions ended because the subscriber fell behind",
            ws_dropped_for_lag.clone(),
        );
        let outbox_backlog = Gauge::default();
        registry.register(
            "mail_outbox_backlog",
            "Mails waiting for delivery",
            outbox_backlog.clone(),
        );
        let mails_sent = Counter::default();
        registry.register("mails_sent", "Mails delivered", mails_sent.clone());
        let mail_failures = Counter::default();
        registry.register(
            "mail_failures",
            "Mail delivery attempts that failed",
            mail_failures.clone(),
        );
        Metrics {
            registry,
            operations: Default::default(),
            max_operations,
            lists_plain,
            lists_generic,
            db_queries,
            db_query_errors,
            requests,
            request_seconds,
            ws_subscribers,
            ws_dropped_for_lag,
            outbox_backlog,
            mails_sent,
            mail_failures,
        }
    }

    /// The `operation` label for an operation: anonymous callers' share
    /// one label whatever they send; a signed-in caller's named operation
    /// gets its name while fewer than `max_operations` names are known (or
    /// when it is one of them), else `other`.
    pub fn operation_label(&self, anonymous: bool, name: Option<&str>) -> String {
        if anonymous {
            return ANONYMOUS.into();
        }
        let Some(name) = name else {
            return UNNAMED.into();
        };
        let plain = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && ![ANONYMOUS, UNNAMED, OTHER].contains(&name);
        if !plain {
            return OTHER.into();
        }
        let mut known = self.operations.lock();
        if known.contains(name) {
            return name.into();
        }
        if known.len() < self.max_operations {
            known.insert(name.into());
            return name.into();
        }
        OTHER.into()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
