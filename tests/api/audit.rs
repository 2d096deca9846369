//! The audit log: failed mutations write nothing; filters, pagination,
//! node(id:) and who may read it. (The walk over every mutation: audit_walk.rs.)

use serde_json::{json, Value};

use crate::helpers::*;

const LOG: &str = "query($h: String!, $first: Int, $after: String, $action: String, $actor: ID) {
  organization(handle: $h) { auditLog(first: $first, after: $after, action: $action, actor: $actor) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id action occurredAt data actor { id } actorServiceAccount { name } targetAccount { id } } } } }";

async fn log(app: &TestApp, token: &str, h: &str, vars: Value) -> Value {
    let mut v = vars;
    v["h"] = json!(h);
    if v.get("first").is_none() {
        v["first"] = json!(100);
    }
    app.expect_data(Some(token), LOG, v).await["organization"]["auditLog"].clone()
}

#[tokio::test]
async fn failed_mutations_leave_no_event() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let stored = || orgraph::entity::audit_event::Entity::find().count(&app.state.services.db.conn);
    let before = stored().await.unwrap();
    let role = "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
    let fails = [
        (
            &w.admin,
            CREATE_ORG,
            json!({"i": {"handle": "acme", "name": "Again"}}),
            "ALREADY_EXISTS",
        ),
        (
            &w.admin,
            role,
            json!({"i": {"organization": w.org_id, "account": w.admin_id, "role": "MEMBER"}}),
            "CANNOT_CHANGE_OWN_ROLE",
        ),
        (
            &w.member,
            role,
            json!({"i": {"organization": w.org_id, "account": w.billing_id, "role": "MEMBER"}}),
            "FORBIDDEN",
        ),
        (
            &w.site_admin,
            SET_PLAN,
            json!({"i": {"organization": w.org_id, "name": "x", "seatLimit": -1, "startsOn": "2026-01-01"}}),
            "BAD_USER_INPUT",
        ),
        (
            &w.admin,
            ISSUE,
            json!({"i": {"organization": w.org_id, "account": w.member_id}}),
            "NO_SEAT",
        ),
    ];
    for (token, q, vars, code) in fails {
        let r = app.gql(Some(token), q, vars).await;
        assert_eq!(r.code(), Some(code), "{}", r.body);
        assert_eq!(
            stored().await.unwrap(),
            before,
            "a failed mutation ({code}) left an event"
        );
    }
}

#[tokio::test]
async fn filters_pagination_node_and_who_may_read_the_log() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (sa_id, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    app.assign(&sa, &w.org_id, std::slice::from_ref(&w.billing_id))
        .await
        .expect_data();

    let all = log(&app, &w.admin, "acme", json!({})).await;
    let nodes = all["nodes"].as_array().unwrap();
    let times: Vec<&str> = nodes
        .iter()
        .map(|n| n["occurredAt"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert_eq!(nodes[0]["action"], "seat.assign");

    // Pages of 2 walk the same events in the same order.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let p = log(&app, &w.admin, "acme", json!({"first": 2, "after": after})).await;
        paged.extend(
            p["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].clone()),
        );
        if !p["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = p["pageInfo"]["endCursor"].as_str().map(String::from);
    }
    assert_eq!(
        paged,
        nodes.iter().map(|n| n["id"].clone()).collect::<Vec<_>>()
    );

    // Action prefix; LIKE wildcards are literal.
    let seat = log(&app, &w.admin, "acme", json!({"action": "seat."})).await;
    assert_eq!(seat["totalCount"], 2);
    for a in ["%", "seat_", "_eat."] {
        let none = log(&app, &w.admin, "acme", json!({"action": a})).await;
        assert_eq!(none["totalCount"], 0, "action {a}");
    }
    // Actor: an account or a service account.
    let by_sa = log(&app, &w.admin, "acme", json!({"actor": sa_id})).await;
    assert_eq!(by_sa["totalCount"], 1);
    assert_eq!(by_sa["nodes"][0]["actorServiceAccount"]["name"], "robot");
    assert_eq!(
        by_sa["nodes"][0]["targetAccount"]["id"],
        w.billing_id.as_str()
    );
    let by_admin = log(&app, &w.admin, "acme", json!({"actor": w.admin_id})).await;
    assert!(by_admin["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["actor"]["id"] == w.admin_id.as_str()));
    assert!(by_admin["totalCount"].as_i64().unwrap() >= 3);
    let r = app
        .gql(
            Some(&w.admin),
            LOG,
            json!({"h": "acme", "actor": "not an id"}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));

    // Who may read: SA, A, S; B and M are FORBIDDEN; others see no organization.
    for t in [&w.site_admin, &w.admin, &sa] {
        assert_eq!(
            log(&app, t, "acme", json!({})).await["totalCount"],
            all["totalCount"]
        );
    }
    for t in [&w.billing, &w.member] {
        let r = app.gql(Some(t), LOG, json!({"h": "acme"})).await;
        assert_eq!(r.code(), Some("FORBIDDEN"));
    }
    let d = app
        .expect_data(Some(&w.outsider), LOG, json!({"h": "acme"}))
        .await;
    assert!(d["organization"].is_null());

    // node(id:) follows the same rule.
    let node = "query($id: ID!) { node(id: $id) { ... on AuditEvent { action } } }";
    let id = nodes[0]["id"].clone();
    let d = app
        .expect_data(Some(&w.admin), node, json!({"id": id}))
        .await;
    assert_eq!(d["node"]["action"], "seat.assign");
    for t in [&w.member, &w.outsider] {
        assert!(app.expect_data(Some(t), node, json!({"id": id})).await["node"].is_null());
    }
}
