//! The real `orgraph` binary as a child process.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
