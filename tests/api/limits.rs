//! Abuse limits: rate limits, query cost, depth, aliases, CORS, websocket
//! origin, introspection switch.

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn password_guessing_is_rate_limited_per_ip_and_username() {
    let app = TestApp::spawn().await;
    app.site_admin("boss@example.com").await; // one successful sign-in already
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = app
            .token_request(&[
                ("grant_type", "password"),
                ("username", "boss@example.com"),
                ("password", "guess guess guess"),
            ])
            .await;
        statuses.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert!(statuses[..9].iter().all(|(s, _)| *s == 400), "{statuses:?}");
    assert_eq!(
        statuses[9],
        (429, true),
        "the 11th attempt in a minute is refused with Retry-After"
    );
    // Even the right password is refused while limited; another user is not.
    let r = app
        .token_request(&[
            ("grant_type", "password"),
            ("username", "boss@example.com"),
            ("password", PASSWORD),
        ])
        .await;
    assert_eq!(r.status(), 429);
    let r = app
        .token_request(&[
            ("grant_type", "password"),
            ("username", "other@example.com"),
            ("password", "x"),
        ])
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn graphql_is_rate_limited_per_principal() {
    let app = TestApp::spawn_with(|c| c.rate_limit_graphql = 5).await;
    let (root, _) = app.site_admin("boss@example.com").await;
    for _ in 0..5 {
        assert!(app
            .gql(Some(&root), "{ viewer { id } }", json!({}))
            .await
            .code()
            .is_none());
    }
    let r = app.gql(Some(&root), "{ viewer { id } }", json!({})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), Some("RATE_LIMITED"));
    // Anonymous callers are counted by IP, separately.
    assert_ne!(
        app.gql(None, "{ __typename }", json!({})).await.code(),
        Some("RATE_LIMITED")
    );
}

#[tokio::test]
async fn costly_deep_and_alias_heavy_queries_are_refused_before_any_resolver_runs() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // A legitimate page of 100 members with their seats passes.
    let ok = "{ organization(handle: \"acme\") { members(first: 100) { nodes { role joinedAt seat { assignedAt } account { id email firstName lastName memberships(first: 20) { nodes { role organization { handle } } } } } } } }";
    assert!(app
        .gql(Some(&w.admin), ok, json!({}))
        .await
        .code()
        .is_none());
    // Nested connections multiply: 100 x 100 x 100 nodes.
    let costly = "{ organizations(first: 100) { nodes { members(first: 100) { nodes { account { memberships(first: 100) { nodes { role } } } } } } } }";
    let before = app.sql_count().await;
    let r = app.gql(Some(&w.admin), costly, json!({})).await;
    assert_eq!(r.code(), Some("QUERY_TOO_COMPLEX"), "{}", r.body);
    assert_eq!(
        app.sql_count().await - before,
        1,
        "only the caller's own row was read"
    );
    // Too deep.
    let mut deep = String::from("{ viewer { memberships(first: 1) { nodes { organization { members(first: 1) { nodes { account { memberships(first: 1) { nodes { organization { members(first: 1) { nodes { account { id } } } } } } } } } } } } } }");
    deep = deep.replace(
        "id } } } } } }",
        "memberships(first: 1) { nodes { role } } } } } } } }",
    );
    assert_eq!(
        app.gql(Some(&w.admin), &deep, json!({})).await.code(),
        Some("QUERY_TOO_COMPLEX")
    );
    // Too many aliases.
    let aliases: String = (0..60).map(|i| format!("a{i}: viewer {{ id }} ")).collect();
    let r = app
        .gql(Some(&w.admin), &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(r.code(), Some("QUERY_TOO_COMPLEX"));
}

#[tokio::test]
async fn cors_is_closed_by_default_and_opens_for_listed_origins() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let app =
        TestApp::spawn_with(|c| c.cors_origins = vec!["https://console.example".into()]).await;
    let res = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://console.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://console.example"
    );
    let res = app
        .http
        .post(app.url("/graphql"))
        .header("origin", "https://evil.example")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn websocket_origin_is_checked() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql/ws", app.base.replace("http://", "ws://"));
    let mut req = url.clone().into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(req).await.is_err(),
        "a foreign origin is refused"
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    req.headers_mut()
        .insert("origin", app.base.parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(req).await.is_ok(),
        "the server's own origin (GraphiQL) is allowed"
    );
}

#[tokio::test]
async fn introspection_can_be_disabled_along_with_suggestions() {
    let app = TestApp::spawn_with(|c| c.introspection = false).await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let r = app
        .gql(Some(&root), "{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(
        r.body["data"]["__schema"],
        Value::Null,
        "no schema is revealed: {}",
        r.body
    );
    let r = app.gql(Some(&root), "{ viewr { id } }", json!({})).await;
    let msg = r.body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(!msg.contains("Did you mean"), "{msg}");
    let open = TestApp::spawn().await;
    let (t, _) = open.site_admin("boss@example.com").await;
    let r = open
        .gql(Some(&t), "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        r.body["data"]["__schema"]["queryType"]["name"],
        Value::String("Query".into())
    );
}
