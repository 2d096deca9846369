//! The real `orgraph` binary as a child process.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port for a server the test binds later or binds again: a
/// child `orgraph serve`, a restarted one, the SMTP sink and the PostgreSQL
/// proxy that come back after an outage.
///
/// All the tests share one process, so between a port's release and its
/// next bind another test may be handed it: the OS gives every `bind` to
/// port 0 (each TestApp) and every outgoing connection a port from
/// `ip_local_port_range`. So these ports come from below that range, where
/// the OS hands out none, each one once per process (from a pid-derived
/// start, so two test processes rarely meet), checked free when handed out.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    static RANGE: OnceLock<(u32, u32)> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let &(low, span) = RANGE.get_or_init(|| {
        let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(32768);
        let low = 10_000;
        assert!(
            ephemeral_low >= low + 1000,
            "ip_local_port_range starts at {ephemeral_low}: no room below it for test ports"
        );
        NEXT.store(std::process::id().wrapping_mul(7919), Ordering::Relaxed);
        (low, ephemeral_low - low)
    });
    for _ in 0..span {
        let port = (low + NEXT.fetch_add(1, Ordering::Relaxed) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {low}..{}", low + span);
}

/// `orgraph <args>` with a data dir and database.
pub fn orgraph(db_url: &str, data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orgraph"));
    c.env("DATABASE_URL", db_url)
        .env("ORGRAPH_DATA_DIR", data_dir);
    c
}

/// `orgraph create-admin` with the test password.
pub fn create_admin(db_url: &str, data_dir: &std::path::Path, email: &str) {
    let out = orgraph(db_url, data_dir)
        .args([
            "create-admin",
            "--email",
            email,
            "--password",
            super::PASSWORD,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Start `orgraph serve` on `port` (quiet unless the command says otherwise).
pub fn serve(mut c: Command, port: u16) -> Child {
    c.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null());
    c.spawn().unwrap()
}

pub fn sigterm(child: &Child) {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
}

/// The exit status, at most `within` from now.
pub async fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let since = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(since.elapsed() < within, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `POST /oauth/token` with the password grant to a server at `base`.
pub async fn password_grant(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", password),
        ])
        .send()
        .await
        .expect("an answer, not a dropped connection")
}

/// The JWT of a password grant that must succeed.
pub async fn password_token(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> String {
    let v: serde_json::Value = password_grant(http, base, email, password)
        .await
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().expect("a token").to_string()
}

/// A GraphQL request to a server at `base` that must succeed; its data.
pub async fn expect_data(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    let b: serde_json::Value = http
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&serde_json::json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(b.get("errors").is_none(), "{b}");
    b["data"].clone()
}

pub async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    let t = Instant::now();
    while http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server at {base} did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
