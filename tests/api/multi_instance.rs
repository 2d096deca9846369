//! Two server processes on one PostgreSQL database: an event committed
//! through one reaches a subscriber of the other (LISTEN/NOTIFY).

use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::process;
use crate::helpers::ws::Client;

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
    let port = process::free_port();
    let mut c = process::orgraph(db_url, data_dir);
    c.env("ORGRAPH_PUBLIC_URL", public_url)
        .stderr(Stdio::null());
    if let Some(k) = key {
        c.env("ORGRAPH_JWT_KEY", k);
    }
    let child = process::serve(c, port);
    let base = format!("http://127.0.0.1:{port}");
    process::wait_ready(&base).await;
    Server { child, base }
}

#[tokio::test]
async fn an_event_committed_on_one_instance_reaches_a_subscriber_of_another() {
    let Some(server) = crate::helpers::postgres_server() else {
        eprintln!(
            "PostgreSQL only (ORGRAPH_TEST_POSTGRES unset): SQLite is a single-instance database"
        );
        return;
    };
    let pg = crate::helpers::PgDatabase::create(&server).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Behind one load balancer: one public URL (the JWT issuer) and one key.
    let public = "http://orgraph.test";
    let a = start(&pg.url(), dir_a.path(), None, public).await;
    let key = dir_a.path().join("jwt-ed25519.pem");
    let b = start(&pg.url(), dir_b.path(), Some(&key), public).await;

    process::create_admin(&pg.url(), dir_a.path(), "root@example.com");
    let http = reqwest::Client::new();
    // Sign in on A, act on B with the same token.
    let jwt =
        process::password_token(&http, &a.base, "root@example.com", crate::helpers::PASSWORD).await;
    let gql = |base: &str, q: &str, v: Value| {
        http.post(format!("{base}/graphql"))
            .bearer_auth(&jwt)
            .json(&json!({"query": q, "variables": v}))
            .send()
    };
    let d: Value = gql(
        &b.base,
        crate::helpers::CREATE_ORG,
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
        crate::helpers::CREATE_USER,
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
        crate::helpers::ASSIGN,
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
