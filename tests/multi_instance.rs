//! Two server processes on one PostgreSQL database: an event committed
//! through one reaches a subscriber of the other (LISTEN/NOTIFY).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ws::Client;
use serde_json::{json, Value};

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

async fn start(
    db_url: &str,
    data_dir: &std::path::Path,
    key: Option<&std::path::Path>,
    public_url: &str,
) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = Command::new(env!("CARGO_BIN_EXE_orgraph"));
    c.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db_url)
        .env("ORGRAPH_DATA_DIR", data_dir)
        .env("ORGRAPH_PUBLIC_URL", public_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(k) = key {
        c.env("ORGRAPH_JWT_KEY", k);
    }
    let child = c.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
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
            "instance did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server { child, base }
}

#[tokio::test]
async fn an_event_committed_on_one_instance_reaches_a_subscriber_of_another() {
    let Some(server) = common::postgres_server() else {
        eprintln!(
            "PostgreSQL only (ORGRAPH_TEST_POSTGRES unset): SQLite is a single-instance database"
        );
        return;
    };
    let pg = common::PgDatabase::create(&server).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Behind one load balancer: one public URL (the JWT issuer) and one key.
    let public = "http://orgraph.test";
    let a = start(&pg.url(), dir_a.path(), None, public).await;
    let key = dir_a.path().join("jwt-ed25519.pem");
    let b = start(&pg.url(), dir_b.path(), Some(&key), public).await;

    let out = Command::new(env!("CARGO_BIN_EXE_orgraph"))
        .args([
            "create-admin",
            "--email",
            "root@example.com",
            "--password",
            common::PASSWORD,
        ])
        .env("DATABASE_URL", pg.url())
        .env("ORGRAPH_DATA_DIR", dir_a.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let http = reqwest::Client::new();
    // Sign in on A, act on B with the same token.
    let tok: Value = http
        .post(format!("{}/oauth/token", a.base))
        .form(&[
            ("grant_type", "password"),
            ("username", "root@example.com"),
            ("password", common::PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = tok["access_token"].as_str().unwrap().to_string();
    let gql = |base: &str, q: &str, v: Value| {
        http.post(format!("{base}/graphql"))
            .bearer_auth(&jwt)
            .json(&json!({"query": q, "variables": v}))
            .send()
    };
    let d: Value = gql(
        &b.base,
        common::CREATE_ORG,
        json!({"i": {"handle": "acme", "name": "Acme"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let org = d["data"]["createOrganization"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d: Value = gql(
        &b.base,
        common::CREATE_USER,
        json!({"i": {"organization": org}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let member = d["data"]["createUser"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut sub = Client::ready(&a.base, false, &jwt).await;
    sub.subscribe("s", "subscription($o: ID!) { seatChanges(organization: $o) { kind used limit account { id } } }", json!({"o": org})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r: Value = gql(
        &b.base,
        common::ASSIGN,
        json!({"i": {"organization": org, "accounts": [member]}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(r["errors"].is_null(), "{r}");
    let e = sub
        .next_data(10)
        .await
        .expect("the event crossed instances");
    assert_eq!(
        e["data"]["seatChanges"],
        json!({"kind": "ASSIGNED", "used": 1, "limit": 5, "account": {"id": member}})
    );
}
