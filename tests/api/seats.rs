//! Seats: the limit holds under any concurrency (invariant 2), 20 rounds of
//! each race, released together through a barrier, over real HTTP.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::helpers::*;

const ROUNDS: usize = 20;
const POOL: &str = "query($h: String!) { organization(handle: $h) { seats { limit used available assignments(first: 100) { totalCount nodes { account { id } } } } } }";

async fn pool(app: &TestApp, token: &str) -> Value {
    app.expect_data(Some(token), POOL, json!({"h": "acme"}))
        .await["organization"]["seats"]
        .clone()
}

/// Fire `n` requests at once; each gets its own body from `body(i)`.
async fn race(
    app: &Arc<TestApp>,
    token: &str,
    n: usize,
    body: impl Fn(usize) -> (String, Value),
) -> Vec<Resp> {
    let barrier = Arc::new(Barrier::new(n));
    let mut handles = Vec::new();
    for i in 0..n {
        let (q, v) = body(i);
        let (app, barrier, token) = (app.clone(), barrier.clone(), token.to_string());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            app.gql(Some(&token), &q, v).await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn codes(results: &[Value]) -> (usize, usize, Vec<String>) {
    let mut ok = 0;
    let mut limit = 0;
    let mut other = Vec::new();
    for r in results {
        match r["error"]["code"].as_str() {
            None => ok += 1,
            Some("SEAT_LIMIT_REACHED") => limit += 1,
            Some(c) => other.push(c.to_string()),
        }
    }
    (ok, limit, other)
}

fn items(resps: &[Resp]) -> Vec<Value> {
    resps
        .iter()
        .flat_map(|r| {
            assert!(
                r.body["errors"].is_null(),
                "no request may fail as a whole: {}",
                r.body
            );
            r.body["data"]["assignSeats"]["results"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

async fn setup(n: usize) -> (Arc<TestApp>, World, Vec<String>) {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let members = app.managed_members(&w.admin, &w.org_id, n).await;
    (Arc::new(app), w, members)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_assigns_for_ten_free_seats_grant_exactly_ten() {
    let (app, w, members) = setup(50).await;
    app.set_plan(&w.site_admin, &w.org_id, 10, None)
        .await
        .expect_data();
    for round in 0..ROUNDS {
        app.gql(
            Some(&w.admin),
            REVOKE_SEATS,
            json!({"i": {"organization": w.org_id, "accounts": members}}),
        )
        .await
        .expect_data();
        let resps = race(&app, &w.admin, 50, |i| {
            (
                ASSIGN.to_string(),
                json!({"i": {"organization": w.org_id, "accounts": [members[i]]}}),
            )
        })
        .await;
        let (ok, limit, other) = codes(&items(&resps));
        assert_eq!(
            (ok, limit, other.clone()),
            (10, 40, vec![]),
            "round {round}"
        );
        let p = pool(&app, &w.admin).await;
        assert_eq!(p["used"], 10, "round {round}");
        assert_eq!(p["available"], 0);
        assert_eq!(p["assignments"]["totalCount"], 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_concurrent_batches_of_ten_grant_exactly_ten() {
    let (app, w, members) = setup(50).await;
    app.set_plan(&w.site_admin, &w.org_id, 10, None)
        .await
        .expect_data();
    for round in 0..ROUNDS {
        app.gql(
            Some(&w.admin),
            REVOKE_SEATS,
            json!({"i": {"organization": w.org_id, "accounts": members}}),
        )
        .await
        .expect_data();
        let resps = race(&app, &w.admin, 5, |i| {
            (
                ASSIGN.to_string(),
                json!({"i": {"organization": w.org_id, "accounts": members[i * 10..(i + 1) * 10]}}),
            )
        })
        .await;
        let (ok, limit, other) = codes(&items(&resps));
        assert_eq!((ok, limit, other), (10, 40, vec![]), "round {round}");
        assert_eq!(pool(&app, &w.admin).await["used"], 10, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_assigns_to_one_member_leave_one_seat() {
    let (app, w, members) = setup(1).await;
    for round in 0..ROUNDS {
        app.gql(
            Some(&w.admin),
            REVOKE_SEATS,
            json!({"i": {"organization": w.org_id, "accounts": members}}),
        )
        .await
        .expect_data();
        let resps = race(&app, &w.admin, 20, |_| {
            (
                ASSIGN.to_string(),
                json!({"i": {"organization": w.org_id, "accounts": [members[0]]}}),
            )
        })
        .await;
        let (ok, limit, other) = codes(&items(&resps));
        assert_eq!((ok, limit, other), (20, 0, vec![]), "round {round}");
        assert_eq!(pool(&app, &w.admin).await["used"], 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lowering_the_limit_while_assignments_race_never_oversells() {
    let (app, w, members) = setup(20).await;
    for round in 0..ROUNDS {
        app.gql(
            Some(&w.admin),
            REVOKE_SEATS,
            json!({"i": {"organization": w.org_id, "accounts": members}}),
        )
        .await
        .expect_data();
        app.set_plan(&w.site_admin, &w.org_id, 20, None)
            .await
            .expect_data();
        app.assign(&w.admin, &w.org_id, &members[..8])
            .await
            .expect_data();
        // 10 more assignments race a setPlan down to 12.
        let barrier = Arc::new(Barrier::new(11));
        let mut handles = Vec::new();
        for m in members[8..18].iter().cloned() {
            let (app, barrier, token, org) = (
                app.clone(),
                barrier.clone(),
                w.admin.clone(),
                w.org_id.clone(),
            );
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                app.assign(&token, &org, &[m]).await
            }));
        }
        let plan = {
            let (app, barrier, token, org) = (
                app.clone(),
                barrier.clone(),
                w.site_admin.clone(),
                w.org_id.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                app.set_plan(&token, &org, 12, None).await
            })
        };
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        let plan = plan.await.unwrap();
        let (_, _, other) = codes(&items(&results));
        assert!(other.is_empty(), "round {round}: {other:?}");
        assert!(
            matches!(plan.code(), None | Some("SEAT_LIMIT_REACHED")),
            "round {round}: {}",
            plan.body
        );
        let p = pool(&app, &w.admin).await;
        assert!(
            p["used"].as_i64().unwrap() <= p["limit"].as_i64().unwrap(),
            "round {round}: {p}"
        );
        if plan.code().is_none() {
            assert_eq!(p["limit"], 12);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuing_a_token_while_the_seat_is_revoked_never_leaves_an_active_token_without_a_seat() {
    let (app, w, members) = setup(1).await;
    let member = members[0].clone();
    let tokens_q = "query($h: String!, $a: ID!) { organization(handle: $h) { member(account: $a) { seat { assignedAt } } accessTokens(first: 100, account: $a, active: true) { totalCount } } }";
    for round in 0..ROUNDS {
        app.assign(&w.admin, &w.org_id, std::slice::from_ref(&member))
            .await
            .expect_data();
        let barrier = Arc::new(Barrier::new(2));
        let issue = {
            let (app, barrier, token, org, m) = (
                app.clone(),
                barrier.clone(),
                w.admin.clone(),
                w.org_id.clone(),
                member.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                app.gql(
                    Some(&token),
                    ISSUE,
                    json!({"i": {"organization": org, "account": m}}),
                )
                .await
            })
        };
        let revoke = {
            let (app, barrier, token, org, m) = (
                app.clone(),
                barrier.clone(),
                w.admin.clone(),
                w.org_id.clone(),
                member.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                app.gql(
                    Some(&token),
                    REVOKE_SEATS,
                    json!({"i": {"organization": org, "accounts": [m]}}),
                )
                .await
            })
        };
        let (issue, revoke) = (issue.await.unwrap(), revoke.await.unwrap());
        assert!(
            matches!(issue.code(), None | Some("NO_SEAT")),
            "round {round}: {}",
            issue.body
        );
        assert!(revoke.body["errors"].is_null(), "{}", revoke.body);
        let d = app
            .expect_data(Some(&w.admin), tokens_q, json!({"h": "acme", "a": member}))
            .await;
        assert_eq!(d["organization"]["member"]["seat"], Value::Null);
        assert_eq!(
            d["organization"]["accessTokens"]["totalCount"], 0,
            "round {round}: an active token outlived its seat"
        );
    }
}

#[tokio::test]
async fn seat_rules_and_permissions() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // Only members get seats; bad ids are per-item errors; the batch goes on.
    let r = app
        .assign(
            &w.admin,
            &w.org_id,
            &[
                w.member_id.clone(),
                w.outsider_id.clone(),
                "garbage".into(),
                w.billing_id.clone(),
            ],
        )
        .await;
    let res = r.expect_data()["assignSeats"]["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(res[0]["error"], Value::Null);
    assert!(res[0]["seat"]["assignedAt"].is_string());
    assert_eq!(res[1]["error"]["code"], "NOT_A_MEMBER");
    assert_eq!(res[2]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(res[2]["error"]["field"], json!(["accounts", "2"]));
    assert_eq!(res[3]["error"], Value::Null);
    assert_eq!(
        r.expect_data()["assignSeats"]["seats"],
        json!({"limit": 5, "used": 2, "available": 3})
    );
    for (who, token, expect) in [
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
        ("site admin", &w.site_admin, None),
    ] {
        let r = app
            .assign(token, &w.org_id, std::slice::from_ref(&w.member_id))
            .await;
        assert_eq!(r.code(), expect, "assignSeats as {who}");
        let r = app
            .gql(
                Some(token),
                REVOKE_SEATS,
                json!({"i": {"organization": w.org_id, "accounts": []}}),
            )
            .await;
        assert_eq!(r.code(), expect, "revokeSeats as {who}");
    }
    // A service account of acme may; one of another organization may not see it.
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let acme_sa = app.sa_token(&cid, &secret).await;
    assert_eq!(
        app.assign(&acme_sa, &w.org_id, std::slice::from_ref(&w.admin_id))
            .await
            .code(),
        None
    );
    let (_, cid2, secret2) = app
        .service_account(&w.outsider, &w.other_org_id, "robot")
        .await;
    let other_sa = app.sa_token(&cid2, &secret2).await;
    assert_eq!(
        app.assign(&other_sa, &w.org_id, std::slice::from_ref(&w.admin_id))
            .await
            .code(),
        Some("NOT_FOUND")
    );
    // setPlan below the seats in use is refused; purchaseSeats raises the limit.
    assert_eq!(
        app.set_plan(&w.site_admin, &w.org_id, 2, None).await.code(),
        Some("SEAT_LIMIT_REACHED")
    );
    assert_eq!(
        app.set_plan(&w.site_admin, &w.org_id, 3, None).await.code(),
        None
    );
    // Seats shown on the member, batched: a page of members with seats.
    let d = app
        .expect_data(Some(&w.member), "{ organization(handle: \"acme\") { members(first: 10, hasSeat: true) { totalCount nodes { seat { assignedAt assignedBy { id } } } } } }", json!({}))
        .await;
    assert_eq!(d["organization"]["members"]["totalCount"], 3);
}

#[tokio::test]
async fn a_members_page_with_seats_costs_at_most_five_statements() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let org = app.create_org(&root, "acme").await;
    let members = app.managed_members(&root, &org, 100).await;
    app.set_plan(&root, &org, 200, None).await.expect_data();
    app.assign(&root, &org, &members[..60]).await.expect_data();
    let q = "{ organization(handle: \"acme\") { members(first: 100) { nodes { role joinedAt seat { assignedAt } account { id email firstName lastName } } } } }";
    let before = app.sql_count().await;
    let d = app.expect_data(Some(&root), q, json!({})).await;
    let cost = app.sql_count().await - before;
    let seated = d["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| !n["seat"].is_null())
        .count();
    assert_eq!(seated, 60);
    assert!(cost <= 5, "{cost} statements");
}
