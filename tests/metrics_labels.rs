//! /metrics stays bounded whatever operation names clients send.

mod common;

use std::collections::BTreeSet;

use common::ws::Client;
use common::*;
use serde_json::json;

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
