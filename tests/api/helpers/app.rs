//! TestApp: the real router on a random loopback port, over a fresh
//! database (see `db`), with a test clock. It is served in the test's own
//! runtime and stops when the TestApp drops.

use std::net::SocketAddr;
use std::sync::Arc;

use orgraph::clock::TestClock;
use orgraph::{AppState, Config};

use super::db::{postgres_server, PgDatabase};

pub struct TestApp {
    /// Where /metrics is served when the config set `metrics_bind` (any
    /// port, 0 included: this is the bound one).
    pub metrics_addr: Option<SocketAddr>,
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::defaults();
        config.data_dir = dir.path().to_path_buf();
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.max_concurrent_hashes = 8;
        // Race tests send thousands of requests a minute as one principal;
        // the limits tests turn it on where it is under test.
        config.rate_limit_graphql = 0;
        // Background flushes would add statements to the counts tests take
        // around one request; tests that need them call the flush directly.
        config.usage_flush_seconds = 3600;
        config.last_used_flush_seconds = 3600;
        let pg = match postgres_server() {
            Some(server) => Some(PgDatabase::create(&server).await),
            None => None,
        };
        config.database_url = Some(match &pg {
            Some(p) => p.url(),
            None => format!("sqlite://{}/orgraph.db?mode=rwc", dir.path().display()),
        });
        // Bind first, so links the server builds (sign-in URLs, mail) point here.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.bind = addr;
        config.public_url = Some(format!("http://{addr}"));
        tweak(&mut config);
        let metrics_listener = match config.metrics_bind {
            Some(a) => Some(tokio::net::TcpListener::bind(a).await.unwrap()),
            None => None,
        };
        let metrics_addr = metrics_listener.as_ref().map(|l| l.local_addr().unwrap());
        config.metrics_bind = metrics_addr;
        let clock = Arc::new(TestClock::default());
        let state = AppState::build(config, clock.clone())
            .await
            .expect("app state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            let _ = orgraph::app::serve_on(served, listener, metrics_listener, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            metrics_addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .unwrap(),
            clock,
            state,
            dir,
            pg,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}
