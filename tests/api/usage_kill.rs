//! Persistence of usage counts: the real binary keeps everything from before
//! the last flush interval across SIGKILL and everything across SIGTERM; a
//! failed flush keeps its counts for the next one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PASSWORD: &str = "a secret passphrase 7f3a";
const ORG: &str = "query { organization(handle: \"acme\") { id } }";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn orgraph(dir: &std::path::Path, db_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_orgraph"));
    c.env("ORGRAPH_DATA_DIR", dir)
        .env("DATABASE_URL", db_url)
        .env("ORGRAPH_USAGE_FLUSH_SECONDS", "1")
        // One issuer across restarts on different ports: earlier JWTs stay valid.
        .env("ORGRAPH_PUBLIC_URL", "http://orgraph.test")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

async fn serve(dir: &std::path::Path, db_url: &str) -> Server {
    let port = crate::helpers::process::free_port();
    let child = orgraph(dir, db_url)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/readyz"))
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(started.elapsed() < Duration::from_secs(30), "not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

async fn gql(base: &str, token: &str, q: &str, v: Value) -> Value {
    crate::helpers::process::expect_data(&reqwest::Client::new(), base, token, q, v).await
}

async fn token(base: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> String {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let v: Value = req.send().await.unwrap().json().await.unwrap();
    v["access_token"].as_str().expect("a token").to_string()
}

/// API_REQUESTS stored for acme, read by the admin (whose requests do not count).
async fn stored_api_requests(base: &str) -> f64 {
    let admin = token(
        base,
        &[
            ("grant_type", "password"),
            ("username", "admin@example.com"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    let today = chrono::Utc::now().date_naive();
    let d = gql(
        base,
        &admin,
        "query($s: DateTime, $e: DateTime) { organization(handle: \"acme\") {
           usage(metrics: [API_REQUESTS], interval: DAY, start: $s, end: $e) { buckets { value } } } }",
        json!({"s": format!("{}T00:00:00Z", today.pred_opt().unwrap()),
               "e": format!("{}T00:00:00Z", today.succ_opt().unwrap().succ_opt().unwrap())}),
    )
    .await;
    d["organization"]["usage"][0]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["value"].as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn a_hard_kill_loses_at_most_the_last_flush_interval() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, _pg) = crate::helpers::process_database(dir.path()).await;
    let out = orgraph(dir.path(), &db_url)
        .args(["create-admin", "--email", "admin@example.com"])
        .env("ORGRAPH_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success());

    let mut server = serve(dir.path(), &db_url).await;
    let base = server.base.clone();
    let admin = token(
        &base,
        &[
            ("grant_type", "password"),
            ("username", "admin@example.com"),
            ("password", PASSWORD),
        ],
        None,
    )
    .await;
    let d = gql(
        &base,
        &admin,
        crate::helpers::CREATE_ORG,
        json!({"i": {"handle": "acme", "name": "Acme"}}),
    )
    .await;
    let org = d["createOrganization"]["organization"]["id"].clone();
    let d = gql(
        &base,
        &admin,
        crate::helpers::CREATE_SA,
        json!({"i": {"organization": org, "name": "robot"}}),
    )
    .await;
    let sa = &d["createServiceAccount"];
    let (cid, secret) = (
        sa["serviceAccount"]["clientId"].as_str().unwrap(),
        sa["clientSecret"].as_str().unwrap(),
    );
    // Before the last interval: one token request and ten GraphQL requests.
    let sa_jwt = token(
        &base,
        &[("grant_type", "client_credentials")],
        Some((cid, secret)),
    )
    .await;
    for _ in 0..10 {
        gql(&base, &sa_jwt, ORG, json!({})).await;
    }
    let before = 11.0;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Within the last interval: five more, then SIGKILL at once.
    for _ in 0..5 {
        gql(&base, &sa_jwt, ORG, json!({})).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = serve(dir.path(), &db_url).await;
    let kept = stored_api_requests(&server.base).await;
    assert!(
        (before..=before + 5.0).contains(&kept),
        "after SIGKILL {kept} API requests are stored; expected {before} to {}",
        before + 5.0
    );
    eprintln!("SIGKILL kept {kept} of {} API requests", before + 5.0);

    // SIGTERM: the final flush stores everything counted up to the end.
    for _ in 0..4 {
        gql(&server.base, &sa_jwt, ORG, json!({})).await;
    }
    let mut server = server;
    crate::helpers::process::sigterm(&server.child);
    crate::helpers::process::wait_exit(&mut server.child, Duration::from_secs(20)).await;
    let server = serve(dir.path(), &db_url).await;
    assert_eq!(stored_api_requests(&server.base).await, kept + 4.0);
}

/// A flush that cannot write keeps its counts in memory (still visible to
/// queries) and the next flush stores them, once.
#[tokio::test]
async fn a_failed_flush_keeps_its_counts_for_the_next_one() {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::TestApp::spawn_with(|c| c.usage_flush_seconds = 3600).await;
    let (root, _) = app.site_admin("root@example.com").await;
    let org = app.create_org(&root, "acme").await;
    app.managed_members(&root, &org, 2).await; // 3 joined with the creator
    let conn = &app.state.services.db.conn;
    conn.execute_unprepared("ALTER TABLE usage_counters RENAME TO usage_counters_away")
        .await
        .unwrap();
    assert!(app.state.services.flush_usage().await.is_err());
    conn.execute_unprepared("ALTER TABLE usage_counters_away RENAME TO usage_counters")
        .await
        .unwrap();
    app.managed_members(&root, &org, 1).await;
    let q = "{ organization(handle: \"acme\") { usage(metrics: [MEMBERS_JOINED], interval: DAY) { buckets { value } } } }";
    let sum = |d: Value| -> f64 {
        d["organization"]["usage"][0]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["value"].as_f64().unwrap())
            .sum()
    };
    assert_eq!(sum(app.expect_data(Some(&root), q, json!({})).await), 4.0);
    assert_eq!(app.state.services.flush_usage().await.unwrap(), 1);
    assert_eq!(app.state.services.flush_usage().await.unwrap(), 0);
    assert_eq!(sum(app.expect_data(Some(&root), q, json!({})).await), 4.0);
}
