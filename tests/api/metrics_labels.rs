//! /metrics stays bounded whatever operation names clients send, and can be
//! served on its own address.

use std::collections::BTreeSet;

use serde_json::json;

use crate::helpers::ws::Client;
use crate::helpers::*;

/// The `operation` labels of orgraph_graphql_requests_total on /metrics at `base`.
async fn operation_labels(app: &TestApp, base: &str) -> BTreeSet<String> {
    let text = app
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("orgraph_graphql_requests_total{"))
        .filter_map(|l| {
            let rest = &l[l.find("operation=\"")? + "operation=\"".len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .collect()
}

/// A query with `operationName` (what the label is taken from).
async fn named(app: &TestApp, token: Option<&str>, name: &str) {
    let mut req = app
        .http
        .post(app.url("/graphql"))
        .json(&json!({"query": format!("query {name} {{ __typename }}"), "operationName": name}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn many_operation_names_leave_a_bounded_label_set() {
    let app = TestApp::spawn_with(|c| c.metrics_max_operations = 20).await;
    let (root, _) = app.site_admin("root@example.com").await;
    for i in 0..300 {
        named(&app, None, &format!("Anon{i}")).await;
        named(&app, Some(&root), &format!("Signed{i}")).await;
    }
    // The socket's operations are labelled by the same rule.
    let mut c = Client::ready(&app.base, false, &root).await;
    c.send(json!({"type": "subscribe", "id": "w", "payload": {
        "query": "query Signed3 { __typename }", "operationName": "Signed3"}}))
        .await;
    assert!(c.next_data(5).await.is_some());
    let labels = operation_labels(&app, &app.base).await;
    assert!(
        labels.iter().all(|l| !l.starts_with("Anon")),
        "anonymous names are not labels: {labels:?}"
    );
    assert!(labels.contains("anonymous"), "{labels:?}");
    assert!(labels.contains("other"), "{labels:?}");
    let own: Vec<_> = labels.iter().filter(|l| l.starts_with("Signed")).collect();
    assert_eq!(own.len(), 20, "the first 20 names only: {labels:?}");
    assert!(labels.contains("Signed0") && labels.contains("Signed19"));
    assert!(labels.len() <= 23, "{labels:?}");
    // The socket's operation was counted under its name.
    assert_eq!(
        app.metric("orgraph_graphql_requests_total{operation=\"Signed3\",outcome=\"ok\"}")
            .await,
        Some(2.0)
    );
    // A known name keeps its label.
    named(&app, Some(&root), "Signed5").await;
    assert_eq!(
        app.metric("orgraph_graphql_requests_total{operation=\"Signed5\",outcome=\"ok\"}")
            .await,
        Some(2.0)
    );
}

#[tokio::test]
async fn the_default_cap_is_200_names() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("root@example.com").await;
    for i in 0..300 {
        named(&app, Some(&root), &format!("Op{i}")).await;
        named(&app, None, &format!("Anon{i}")).await;
    }
    let labels = operation_labels(&app, &app.base).await;
    assert_eq!(
        labels.iter().filter(|l| l.starts_with("Op")).count(),
        200,
        "{}",
        labels.len()
    );
    assert!(labels.len() <= 203, "{}", labels.len());
}

#[tokio::test]
async fn metrics_bind_serves_metrics_there_and_not_on_the_main_bind() {
    let app = TestApp::spawn_with(|c| c.metrics_bind = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics = format!("http://{}", app.metrics_addr.unwrap());
    named(&app, None, "Hello").await;
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("orgraph_graphql_requests_total{operation=\"anonymous\",outcome=\"ok\"} 1"));
    // Only /metrics there: no GraphQL on the metrics address.
    let res = app
        .http
        .post(format!("{metrics}/graphql"))
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_binary_serves_metrics_bind_and_stops_it_on_sigterm() {
    use crate::helpers::process::{free_port, orgraph, sigterm, wait_exit, wait_ready};
    let dir = tempfile::tempdir().unwrap();
    let (db_url, _pg) = crate::helpers::process_database(dir.path()).await;
    let (port, mport) = (free_port(), free_port());
    let mut child = orgraph(&db_url, dir.path())
        .env("ORGRAPH_METRICS_BIND", format!("127.0.0.1:{mport}"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let metrics = format!("http://127.0.0.1:{mport}/metrics");
    wait_ready(&base).await;
    let http = reqwest::Client::new();
    let res = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = http.get(&metrics).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("orgraph_db_queries_total"));
    sigterm(&child);
    let status = wait_exit(&mut child, std::time::Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        http.get(&metrics).send().await.is_err(),
        "the metrics listener is closed"
    );
}
