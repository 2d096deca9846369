//! Queries and mutations over /graphql/ws pass the same pipeline as HTTP:
//! the principal is read afresh for every operation (expiry, deletion,
//! site-admin flag, roles), and the same limits, error codes and usage
//! counting apply.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::ws::{Client, Got};
use crate::helpers::*;

const DELETE_SA: &str =
    "mutation($i: ServiceAccountIdInput!) { deleteServiceAccount(input: $i) { deletedId } }";
const ROLE: &str =
    "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
const ALL_ORGS: &str = "{ organizations(all: true, first: 10) { totalCount } }";
const AUDIT_IDS: &str =
    "query { organization(handle: \"acme\") { auditLog(first: 1) { nodes { id action } } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { ... on AuditEvent { action } } }";
const SUB: &str = "subscription($o: ID!) { seatChanges(organization: $o) { kind used } }";

/// Send one operation and return the first frame it gets (or the close).
async fn op(c: &mut Client, id: &str, query: &str, vars: Value) -> Got {
    c.subscribe(id, query, vars).await;
    c.recv(10).await
}

/// The errors of a frame: an `error` frame's payload, or a data frame's errors.
fn errors(m: &Value) -> Value {
    if m["type"] == "error" {
        m["payload"].clone()
    } else {
        m["payload"]["errors"].clone()
    }
}

/// The first error code of an operation's first frame; panics on a close.
async fn code_of(c: &mut Client, id: &str, query: &str, vars: Value) -> Option<String> {
    match op(c, id, query, vars).await {
        Got::Msg(m) => errors(&m)[0]["extensions"]["code"]
            .as_str()
            .map(str::to_string),
        other => panic!("{id}: expected a frame, got {other:?}"),
    }
}

/// The data of an operation that must succeed (and then complete).
async fn expect_data_of(c: &mut Client, id: &str, query: &str, vars: Value) -> Value {
    match op(c, id, query, vars).await {
        Got::Msg(m) if m["type"] == "next" || m["type"] == "data" => {
            assert!(m["payload"].get("errors").is_none(), "{id}: {m}");
            let done = c.recv(5).await;
            assert_eq!(done, Got::Msg(json!({"type": "complete", "id": id})));
            m["payload"]["data"].clone()
        }
        other => panic!("{id}: expected data, got {other:?}"),
    }
}

#[tokio::test]
async fn a_deleted_service_accounts_socket_is_closed_before_it_creates_an_admin() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (sa_id, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await;
    let mut c = Client::ready(&app.base, false, &sa).await;
    assert_eq!(
        expect_data_of(&mut c, "q", "{ __typename }", json!({})).await["__typename"],
        "Query"
    );
    app.expect_data(Some(&w.admin), DELETE_SA, json!({"i": {"id": sa_id}}))
        .await;
    let create = json!({"i": {"organization": w.org_id, "email": "mallory@example.com", "password": PASSWORD, "role": "ADMIN"}});
    assert_eq!(
        op(&mut c, "m", CREATE_USER, create.clone()).await,
        Got::Closed(4403)
    );
    // Nothing was created: the address is still free.
    app.expect_data(Some(&w.admin), CREATE_USER, create).await;
}

#[tokio::test]
async fn an_expired_jwt_closes_the_socket_on_its_next_operation() {
    let app = TestApp::spawn_with(|c| c.jwt_ttl = 60).await;
    let (root, _) = app.site_admin("root@example.com").await;
    for legacy in [false, true] {
        let mut c = Client::ready(&app.base, legacy, &root).await;
        assert!(
            expect_data_of(&mut c, "q", "{ viewer { id } }", json!({})).await["viewer"]["id"]
                .is_string()
        );
        // Past the TTL (and any leeway), no sleeping.
        app.clock.advance(Duration::seconds(600));
        let org = json!({"i": {"handle": format!("late{legacy}"), "name": "Late"}});
        assert_eq!(
            op(&mut c, "m", CREATE_ORG, org).await,
            Got::Closed(4403),
            "legacy={legacy}"
        );
        let mut c = Client::connect(&app.base, legacy).await;
        let got = c.init(Some(&root)).await;
        assert!(
            matches!(&got, Got::Closed(4403))
                || matches!(&got, Got::Msg(m) if m["type"] == "connection_error"),
            "{got:?}"
        );
        app.clock.advance(Duration::seconds(-600));
    }
    // The organizations were not created.
    let fresh = app.sign_in("root@example.com", PASSWORD).await;
    let d = app
        .expect_data(
            Some(&fresh),
            "{ a: organization(handle: \"latefalse\") { id } b: organization(handle: \"latetrue\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(d, json!({"a": null, "b": null}));
}

#[tokio::test]
async fn a_removed_site_admin_flag_counts_on_the_open_socket() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{EntityTrait, QueryFilter};
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("root@example.com").await;
    app.create_org(&root, "acme").await;
    let mut c = Client::ready(&app.base, false, &root).await;
    assert_eq!(
        expect_data_of(&mut c, "q1", ALL_ORGS, json!({})).await["organizations"]["totalCount"],
        1
    );
    // Setup only: the flag is turned off in the database (no API does it).
    orgraph::entity::account::Entity::update_many()
        .col_expr(
            orgraph::entity::account::Column::IsSiteAdmin,
            Expr::value(false),
        )
        .filter(sea_orm::ColumnTrait::eq(
            &orgraph::entity::account::Column::Email,
            "root@example.com",
        ))
        .exec(&app.state.services.db.conn)
        .await
        .unwrap();
    assert_eq!(
        code_of(&mut c, "q2", ALL_ORGS, json!({})).await.as_deref(),
        Some("FORBIDDEN")
    );
}

#[tokio::test]
async fn an_admin_removed_from_the_organization_no_longer_reads_its_audit_events() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // A second admin, so the first may be removed.
    app.expect_data(
        Some(&w.admin),
        ROLE,
        json!({"i": {"organization": w.org_id, "account": w.member_id, "role": "ADMIN"}}),
    )
    .await;
    let d = app.expect_data(Some(&w.admin), AUDIT_IDS, json!({})).await;
    let event = d["organization"]["auditLog"]["nodes"][0].clone();
    assert!(event["action"].is_string(), "{d}");
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    let d = expect_data_of(&mut c, "q1", NODE, json!({"id": event["id"]})).await;
    assert_eq!(d["node"]["action"], event["action"], "{d}");
    app.expect_data(
        Some(&w.member),
        REMOVE,
        json!({"i": {"organization": w.org_id, "account": w.admin_id}}),
    )
    .await;
    let d = expect_data_of(&mut c, "q2", NODE, json!({"id": event["id"]})).await;
    assert_eq!(d["node"], Value::Null);
}

#[tokio::test]
async fn the_alias_cap_applies_to_queries_and_subscriptions_on_both_protocols() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let aliases: String = (0..300).map(|i| format!("a{i}: __typename ")).collect();
    let q = format!("{{ {aliases} }}");
    let s = format!(
        "subscription($o: ID!) {{ {} }}",
        (0..300)
            .map(|i| format!("a{i}: seatChanges(organization: $o) {{ used }} "))
            .collect::<String>()
    );
    for legacy in [false, true] {
        let mut c = Client::ready(&app.base, legacy, &w.admin).await;
        assert_eq!(
            code_of(&mut c, "q", &q, json!({})).await.as_deref(),
            Some("QUERY_TOO_COMPLEX"),
            "legacy={legacy}"
        );
        if legacy {
            assert_eq!(
                c.recv(5).await,
                Got::Msg(json!({"type": "complete", "id": "q"}))
            );
        }
        assert_eq!(
            code_of(&mut c, "s", &s, json!({"o": w.org_id}))
                .await
                .as_deref(),
            Some("QUERY_TOO_COMPLEX"),
            "legacy={legacy}"
        );
    }
}

#[tokio::test]
async fn a_socket_shares_its_principals_rate_limit_with_http() {
    let app = TestApp::spawn_with(|c| c.rate_limit_graphql = 5).await;
    let (root, _) = app.site_admin("root@example.com").await;
    for _ in 0..3 {
        app.expect_data(Some(&root), "{ viewer { id } }", json!({}))
            .await;
    }
    let mut c = Client::ready(&app.base, false, &root).await;
    for i in 0..2 {
        expect_data_of(&mut c, &format!("ok{i}"), "{ viewer { id } }", json!({})).await;
    }
    assert_eq!(
        code_of(&mut c, "limited", "{ viewer { id } }", json!({}))
            .await
            .as_deref(),
        Some("RATE_LIMITED")
    );
    // The socket stays open; HTTP is limited as well.
    assert_eq!(
        code_of(&mut c, "again", "{ viewer { id } }", json!({}))
            .await
            .as_deref(),
        Some("RATE_LIMITED")
    );
    let r = app.gql(Some(&root), "{ viewer { id } }", json!({})).await;
    assert_eq!((r.status, r.code()), (429, Some("RATE_LIMITED")));
}

#[tokio::test]
async fn nul_characters_are_bad_user_input_over_the_socket() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    let q = "query($h: String!) { organization(handle: $h) { id } }";
    assert_eq!(
        code_of(&mut c, "q", q, json!({"h": "ac\u{0}me"}))
            .await
            .as_deref(),
        Some("BAD_USER_INPUT")
    );
    let org = json!({"i": {"handle": "nul", "name": "a\u{0}b"}});
    assert_eq!(
        code_of(&mut c, "m", CREATE_ORG, org).await.as_deref(),
        Some("BAD_USER_INPUT")
    );
    let sub = "subscription($o: ID!) { seatChanges(organization: $o) { used } }";
    assert_eq!(
        code_of(&mut c, "s", sub, json!({"o": format!("{}\u{0}", w.org_id)}))
            .await
            .as_deref(),
        Some("BAD_USER_INPUT")
    );
    // The socket is still usable.
    expect_data_of(&mut c, "after", "{ viewer { id } }", json!({})).await;
}

const USAGE: &str = "query($h: String!, $m: [UsageMetric!], $i: UsageInterval, $s: DateTime, $e: DateTime) {
  organization(handle: $h) { usage(metrics: $m, interval: $i, start: $s, end: $e) { metric buckets { value } } } }";

/// API_REQUESTS of acme around now, as its admin reads them.
async fn api_requests(app: &TestApp, admin: &str) -> f64 {
    let now = app.clock.now();
    let d = app
        .expect_data(
            Some(admin),
            USAGE,
            json!({"h": "acme", "m": ["API_REQUESTS"], "i": "DAY",
                "s": (now - Duration::days(1)).to_rfc3339(), "e": (now + Duration::days(1)).to_rfc3339()}),
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
async fn a_service_accounts_socket_operations_count_as_api_requests() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await;
    let before = api_requests(&app, &w.admin).await;
    let mut c = Client::ready(&app.base, false, &sa).await;
    for i in 0..3 {
        expect_data_of(&mut c, &format!("q{i}"), "{ __typename }", json!({})).await;
    }
    assert_eq!(api_requests(&app, &w.admin).await - before, 3.0);
    // A subscription counts once, when it starts (in its own task: wait for it).
    c.subscribe("s", SUB, json!({"o": w.org_id})).await;
    let mut counted = 0.0;
    for _ in 0..50 {
        counted = api_requests(&app, &w.admin).await - before;
        if counted >= 4.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(counted, 4.0);
    // And only once, however long it runs.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    assert!(c.next_data(5).await.is_some());
    assert_eq!(api_requests(&app, &w.admin).await - before, 4.0);
}

#[tokio::test]
async fn subscription_validation_errors_carry_contract_codes() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for legacy in [false, true] {
        let mut c = Client::ready(&app.base, legacy, &w.admin).await;
        let bad = "subscription($o: ID!) { seatChanges(organization: $o) { nope } }";
        let m = match op(&mut c, "bad", bad, json!({"o": w.org_id})).await {
            Got::Msg(m) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(m["type"], if legacy { "data" } else { "error" }, "{m}");
        assert_eq!(errors(&m)[0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
        if legacy {
            assert_eq!(
                c.recv(5).await,
                Got::Msg(json!({"type": "complete", "id": "bad"}))
            );
        }
        // 20 levels, over the depth limit of 15.
        let mut deep = String::from("role");
        for _ in 0..5 {
            deep = format!("organization {{ members(first: 1) {{ nodes {{ {deep} }} }} }}");
        }
        let deep =
            format!("subscription($o: ID!) {{ seatChanges(organization: $o) {{ {deep} }} }}");
        assert_eq!(
            code_of(&mut c, "deep", &deep, json!({"o": w.org_id}))
                .await
                .as_deref(),
            Some("QUERY_TOO_COMPLEX"),
            "legacy={legacy}"
        );
    }
}

#[tokio::test]
async fn subscriptions_still_deliver_after_the_per_operation_checks() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    c.subscribe("s", SUB, json!({"o": w.org_id})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A query on the same socket while the subscription runs.
    expect_data_of(&mut c, "q", "{ viewer { id } }", json!({})).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    let e = c.next_data(5).await.expect("an event");
    assert_eq!(e["data"]["seatChanges"]["kind"], "ASSIGNED");
}

#[tokio::test]
async fn a_socket_operation_is_cancelled_at_the_request_timeout() {
    // One argon2 hash at a time, and a queue of sign-ins ahead of the
    // mutation's own hash: it waits far longer than the 1 s timeout.
    let app = TestApp::spawn_with(|c| {
        c.request_timeout = 1;
        c.max_concurrent_hashes = 1;
        c.rate_limit_token = 0;
    })
    .await;
    let w = app.world().await;
    let mut c = Client::ready(&app.base, false, &w.admin).await;
    // Each guess a different password: each one costs its own hash.
    let guesses: Vec<_> = (0..80)
        .map(|i| {
            let (http, url) = (app.http.clone(), app.url("/oauth/token"));
            tokio::spawn(async move {
                let password = format!("wrong wrong wrong {i}");
                http.post(url)
                    .form(&[
                        ("grant_type", "password"),
                        ("username", "member@example.com"),
                        ("password", password.as_str()),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let create = json!({"i": {"organization": w.org_id, "email": "slow@example.com", "password": PASSWORD, "role": "MEMBER"}});
    let m = match op(&mut c, "slow", CREATE_USER, create.clone()).await {
        Got::Msg(m) => m,
        other => panic!("{other:?}"),
    };
    let e = &errors(&m)[0];
    assert_eq!(e["extensions"]["code"], "INTERNAL", "{m}");
    assert!(e["extensions"]["requestId"].is_string(), "{m}");
    assert_eq!(e["message"], "the request took too long and was cancelled");
    for g in guesses {
        assert_eq!(g.await.unwrap().unwrap(), 400);
    }
    // The cancelled mutation left nothing behind.
    app.expect_data(Some(&w.admin), CREATE_USER, create).await;
}
