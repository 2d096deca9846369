//! Graceful shutdown under load (issue 7): SIGTERM while requests are in
//! flight lets every one of them finish with its answer, mail committed
//! before the signal is delivered, and the process exits 0.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::process::{
    create_admin, expect_data, free_port, orgraph, password_token, sigterm, wait_exit, wait_ready,
};

const IN_FLIGHT: usize = 12;

async fn password_grant(http: &reqwest::Client, base: &str) -> reqwest::Response {
    crate::helpers::process::password_grant(
        http,
        base,
        "admin@example.com",
        crate::helpers::PASSWORD,
    )
    .await
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_delivers_committed_mail() {
    let dir = tempfile::tempdir().unwrap();
    let mail = tempfile::tempdir().unwrap();
    let (db_url, _pg) = crate::helpers::process_database(dir.path()).await;
    create_admin(&db_url, dir.path(), "admin@example.com");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = orgraph(&db_url, dir.path())
        .env("ORGRAPH_MAIL", format!("file:{}", mail.path().display()))
        // Each password grant is an argon2 hash, one at a time: the burst
        // below stays in flight for a while.
        .env("ORGRAPH_MAX_CONCURRENT_HASHES", "1")
        .env("ORGRAPH_RATE_LIMIT_TOKEN", "0")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&base).await;
    let http = reqwest::Client::new();
    let jwt = password_token(&http, &base, "admin@example.com", crate::helpers::PASSWORD).await;
    let gql = |q: &'static str, v: Value| {
        let (http, base, jwt) = (http.clone(), base.clone(), jwt.clone());
        async move { expect_data(&http, &base, &jwt, q, v).await }
    };
    let d = gql(
        "mutation { createOrganization(input: {handle: \"acme\", name: \"Acme\"}) { organization { id } } }",
        json!({}),
    )
    .await;
    let org = d["createOrganization"]["organization"]["id"].clone();

    // The burst: slow requests (hashed one at a time), then a mutation that
    // commits a mail. SIGTERM goes out as soon as the first answer is back,
    // while the others still wait for the hasher.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let burst: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (http, base, done) = (http.clone(), base.clone(), done_tx.clone());
            tokio::spawn(async move {
                let r = password_grant(&http, &base).await;
                let status = r.status();
                let v: Value = r.json().await.unwrap();
                let _ = done.send(Instant::now());
                (status, v)
            })
        })
        .collect();
    let invite = tokio::spawn(gql(
        "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { error { code } } } }",
        json!({"i": {"organization": org, "invitees": [{"email": "new@example.com"}]}}),
    ));
    done_rx.recv().await.unwrap();
    sigterm(&child);
    let signalled = Instant::now();

    // Every request that was in flight gets its full answer.
    for r in burst {
        let (status, v) = r.await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert!(v["access_token"].is_string(), "{v}");
    }
    drop(done_tx);
    let mut after_signal = 0;
    while let Some(t) = done_rx.recv().await {
        if t > signalled {
            after_signal += 1;
        }
    }
    assert!(
        after_signal > 0,
        "no request was still in flight at SIGTERM; the test proved nothing"
    );
    let d = invite.await.unwrap();
    assert_eq!(
        d["inviteMembers"]["results"][0]["error"],
        Value::Null,
        "{d}"
    );

    let status = wait_exit(&mut child, Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status}");
    // No new connection is accepted once it has stopped.
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
    // The invitation committed before the signal was mailed before the exit.
    let mails: Vec<String> = std::fs::read_dir(mail.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1, "one invitation mail");
    assert!(mails[0].contains("To: new@example.com"), "{}", mails[0]);
    assert!(mails[0].contains("X-Orgraph-Kind: invitation"));
}
