//! The server under test: a child `target/release/orgraph serve` on a free
//! loopback port (or an already running one), its readiness, its
//! `orgraph_db_queries_total` counter and its resident memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Server {
    pub base: String,
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `target/release/orgraph` next to this binary (both live in the same
/// target directory), else under the current directory.
pub fn server_binary() -> anyhow::Result<PathBuf> {
    let beside = std::env::current_exe()?.with_file_name("orgraph");
    for p in [beside, PathBuf::from("target/release/orgraph")] {
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("target/release/orgraph not found; build it with `cargo build --release -p orgraph -p orgraph-bench`")
}

impl Server {
    pub fn external(base: &str) -> Self {
        Server {
            base: base.trim_end_matches('/').to_string(),
            child: None,
        }
    }

    /// Start `orgraph serve` against the seeded database. Its logs go to
    /// `<data dir>/server.log` (warnings only, so logging costs nothing).
    /// Settings come from the environment, so the caller's own ORGRAPH_*
    /// variables (pool size, limits) apply unless set here.
    pub fn spawn(binary: &Path, data_dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = std::fs::File::create(data_dir.join("server.log"))?;
        let child = Command::new(binary)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("ORGRAPH_BIND", format!("127.0.0.1:{port}"))
            .env("ORGRAPH_DATA_DIR", data_dir)
            .env("ORGRAPH_JWT_TTL", "7200")
            .env("ORGRAPH_LOG_FORMAT", "json")
            // 64 principals doing all the work would meet the per-principal
            // limit on a fast machine; a high limit keeps its check in the
            // measured path without it answering 429.
            .env("ORGRAPH_RATE_LIMIT_GRAPHQL", "10000000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        Ok(Server {
            base: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub async fn wait_ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Some(status) = c.try_wait()? {
                    bail!("the server exited during start-up ({status}); see server.log in the data dir");
                }
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("{}/readyz did not answer 200 within 60s", self.base);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `orgraph_db_queries_total` from /metrics.
pub async fn sql_count(http: &reqwest::Client, base: &str) -> anyhow::Result<u64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("orgraph_db_queries_total ")
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .map(|v| v as u64)
        .context("/metrics has no orgraph_db_queries_total")
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak resident memory while a scenario runs: resets the kernel's
/// high-water mark (`clear_refs` 5), samples VmRSS every 50 ms, and at the
/// end takes the larger of the samples and VmHWM.
pub struct RssProbe {
    pid: u32,
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssProbe {
    pub fn start(pid: u32) -> Self {
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        let max_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max_kib.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = status_kib(pid, "VmRSS:") {
                    m.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        RssProbe {
            pid,
            max_kib,
            stop,
            task,
        }
    }

    /// Peak in MiB.
    pub async fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        let hwm = status_kib(self.pid, "VmHWM:").unwrap_or(0);
        hwm.max(self.max_kib.load(Ordering::Relaxed)) as f64 / 1024.0
    }
}
