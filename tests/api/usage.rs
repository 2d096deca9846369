//! Resource usage and usage over time: counts in at most two statements,
//! DAY/MONTH buckets across a month boundary and a leap day, defaults from
//! the plan period, range errors, and who may read them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::*;

const RESOURCES: &str = "query($h: String!) { organization(handle: $h) { resourceUsage {
  members admins billingManagers seatsUsed seatLimit pendingInvitations serviceAccounts activeAccessTokens } } }";
const USAGE: &str = "query($h: String!, $m: [UsageMetric!], $i: UsageInterval, $s: DateTime, $e: DateTime) {
  organization(handle: $h) { usage(metrics: $m, interval: $i, start: $s, end: $e) { metric buckets { start end value } } } }";
const ORG_ID: &str = "query($h: String!) { organization(handle: $h) { id } }";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// `(bucket start date, value)` per bucket of one metric's series, after
/// checking the buckets tile the range with no gap.
fn series(d: &Value, metric: &str) -> Vec<(String, f64)> {
    let all = d["organization"]["usage"].as_array().expect("usage list");
    let s = all
        .iter()
        .find(|s| s["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} series in {d}"));
    let b = s["buckets"].as_array().unwrap();
    for w in b.windows(2) {
        assert_eq!(at_of(&w[0]["end"]), at_of(&w[1]["start"]), "gap: {d}");
    }
    b.iter()
        .map(|b| {
            (
                at_of(&b["start"]).format("%Y-%m-%d").to_string(),
                b["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn at_of(v: &Value) -> DateTime<Utc> {
    at(v.as_str().expect("a DateTime string"))
}

fn pairs(p: &[(&str, f64)]) -> Vec<(String, f64)> {
    p.iter().map(|(d, v)| (d.to_string(), *v)).collect()
}

async fn usage(app: &TestApp, token: &str, vars: Value) -> Value {
    let mut v = vars;
    v["h"] = json!("acme");
    app.expect_data(Some(token), USAGE, v).await
}

/// A long JWT lifetime, so tokens outlive the days the clock jumps.
async fn spawn_long_tokens() -> TestApp {
    TestApp::spawn_with(|c| c.jwt_ttl = 400 * 86_400).await
}

/// SA GraphQL requests in the organization's name (each counts one API request).
async fn sa_requests(app: &TestApp, sa: &str, n: usize) {
    for _ in 0..n {
        app.expect_data(Some(sa), ORG_ID, json!({"h": "acme"}))
            .await;
    }
}

#[tokio::test]
async fn resource_usage_counts_in_one_statement_for_the_roles_allowed() {
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_long_tokens().await;
    let w = app.world().await;
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    let issue = |exp: Option<String>| {
        let mut i = json!({"organization": w.org_id, "account": w.member_id});
        if let Some(e) = exp {
            i["expiresAt"] = json!(e);
        }
        app.expect_data(Some(&w.admin), ISSUE, json!({ "i": i }))
    };
    issue(None).await;
    let revoked = issue(None).await["issueAccessToken"]["accessToken"]["id"].clone();
    app.expect_data(
        Some(&w.admin),
        "mutation($i: RevokeAccessTokenInput!) { revokeAccessToken(input: $i) { accessToken { active } } }",
        json!({"i": {"id": revoked}}),
    )
    .await;
    let soon = (app.clock.now() + Duration::hours(1)).to_rfc3339();
    issue(Some(soon)).await;
    // Invitations are written by the invitation mutations (another branch);
    // rows are placed directly here to check the pending/expired rule.
    let org = uuid_of(&w.org_id);
    let now = app.clock.now();
    use orgraph::entity::enums::{Role, StoredInvitationStatus as Status};
    for (status, expires) in [
        (Status::Pending, now + Duration::days(7)),
        (Status::Pending, now + Duration::minutes(30)),
        (Status::Accepted, now + Duration::days(7)),
    ] {
        orgraph::entity::invitation::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            organization_id: Set(org),
            email: Set(format!("{}@example.com", uuid::Uuid::new_v4().simple())),
            role: Set(Role::Member),
            status: Set(status),
            token_hash: Set(uuid::Uuid::new_v4().simple().to_string()),
            invited_by_account_id: Set(None),
            invited_by_service_account_id: Set(None),
            created_at: Set(now),
            last_sent_at: Set(now),
            expires_at: Set(expires),
            send_count: Set(1),
            responded_at: Set(None),
            accepted_account_id: Set(None),
        }
        .insert(&app.state.services.db.conn)
        .await
        .unwrap();
    }
    let expect = json!({"members": 3, "admins": 1, "billingManagers": 1, "seatsUsed": 1,
        "seatLimit": 5, "pendingInvitations": 2, "serviceAccounts": 1, "activeAccessTokens": 2});
    for token in [&w.site_admin, &w.admin, &w.billing, &sa] {
        let d = app
            .expect_data(Some(token), RESOURCES, json!({"h": "acme"}))
            .await;
        assert_eq!(d["organization"]["resourceUsage"], expect);
    }
    // An hour on: the short token and the 30-minute invitation have expired.
    app.clock.advance(Duration::minutes(61));
    let d = app
        .expect_data(Some(&w.admin), RESOURCES, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"]["resourceUsage"]["activeAccessTokens"], 1);
    assert_eq!(d["organization"]["resourceUsage"]["pendingInvitations"], 1);

    let r = app
        .gql(Some(&w.member), RESOURCES, json!({"h": "acme"}))
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let d = app
        .expect_data(Some(&w.outsider), RESOURCES, json!({"h": "acme"}))
        .await;
    assert!(d["organization"].is_null());

    // Statements: the same query without resourceUsage is the baseline.
    app.state.services.flush_usage().await.unwrap();
    let base = app.sql_count().await;
    app.expect_data(Some(&w.admin), ORG_ID, json!({"h": "acme"}))
        .await;
    let without = app.sql_count().await - base;
    let base = app.sql_count().await;
    app.expect_data(Some(&w.admin), RESOURCES, json!({"h": "acme"}))
        .await;
    let with = app.sql_count().await - base;
    assert!(
        with - without <= 2,
        "resourceUsage took {} statements",
        with - without
    );
    eprintln!("resourceUsage: {} SQL statement(s)", with - without);

    // The benchmark's org-overview (issue 8: at most 4 statements in all,
    // bearer check included): the seat pool counts once for `used` and
    // `available` together.
    let base = app.sql_count().await;
    let d = app
        .expect_data(Some(&w.admin), ORG_OVERVIEW, json!({"h": "acme"}))
        .await;
    let overview = app.sql_count().await - base;
    assert_eq!(
        d["organization"]["seats"],
        json!({"limit": 5, "used": 1, "available": 4})
    );
    assert_eq!(d["organization"]["resourceUsage"]["seatsUsed"], 1);
    assert!(overview <= 4, "org-overview took {overview} statements");
}

const ORG_OVERVIEW: &str = "query($h: String!) { organization(handle: $h) { id handle name description plan { name seatLimit startsOn endsOn } settings { storageEnabled notebooksEnabled } seats { limit used available } resourceUsage { members admins billingManagers seatsUsed seatLimit pendingInvitations serviceAccounts activeAccessTokens } } }";

fn uuid_of(global: &str) -> uuid::Uuid {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global)
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    text.split_once(':').unwrap().1.parse().unwrap()
}

#[tokio::test]
async fn day_and_month_buckets_across_a_month_boundary_and_a_leap_day() {
    let app = spawn_long_tokens().await;
    app.clock.set(at("2028-02-27T12:00:00Z"));
    let w = app.world().await; // three join acme on 02-27
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await; // the token request counts
    sa_requests(&app, &sa, 2).await;
    app.state.services.flush_usage().await.unwrap();

    app.clock.advance(Duration::days(1)); // 02-28
    app.managed_members(&w.admin, &w.org_id, 1).await;
    app.assign(
        &w.admin,
        &w.org_id,
        &[w.member_id.clone(), w.billing_id.clone()],
    )
    .await
    .expect_data();
    sa_requests(&app, &sa, 1).await;
    app.state.services.flush_usage().await.unwrap();

    app.clock.advance(Duration::days(1)); // 02-29, left in memory
    app.managed_members(&w.admin, &w.org_id, 3).await;
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.admin_id))
        .await
        .expect_data();
    sa_requests(&app, &sa, 2).await;

    app.clock.advance(Duration::days(1)); // 03-01
    app.managed_members(&w.admin, &w.org_id, 1).await;

    let day_vars = json!({"m": ["MEMBERS_JOINED", "API_REQUESTS", "PEAK_SEATS"], "i": "DAY",
        "s": "2028-02-27T00:00:00Z", "e": "2028-03-02T00:00:00Z"});
    let month_vars = json!({"m": ["MEMBERS_JOINED", "API_REQUESTS", "PEAK_SEATS"], "i": "MONTH",
        "s": "2028-01-01T00:00:00Z", "e": "2028-04-01T00:00:00Z"});
    // Twice: with today's and the leap day's counts in memory, then flushed.
    for round in 0..2 {
        let d = usage(&app, &w.billing, day_vars.clone()).await;
        assert_eq!(d["organization"]["usage"].as_array().unwrap().len(), 3);
        let days = ["2028-02-27", "2028-02-28", "2028-02-29", "2028-03-01"];
        let expect = |v: [f64; 4]| pairs(&days.iter().copied().zip(v).collect::<Vec<_>>());
        assert_eq!(
            series(&d, "MEMBERS_JOINED"),
            expect([3., 1., 3., 1.]),
            "round {round}"
        );
        assert_eq!(
            series(&d, "API_REQUESTS"),
            expect([3., 1., 2., 0.]),
            "round {round}"
        );
        assert_eq!(
            series(&d, "PEAK_SEATS"),
            expect([0., 2., 3., 0.]),
            "round {round}"
        );
        let last = &d["organization"]["usage"][0]["buckets"][3];
        assert_eq!(at_of(&last["end"]), at("2028-03-02T00:00:00Z"));

        let d = usage(&app, &w.admin, month_vars.clone()).await;
        let months = |v: [f64; 3]| {
            pairs(&[
                ("2028-01-01", v[0]),
                ("2028-02-01", v[1]),
                ("2028-03-01", v[2]),
            ])
        };
        assert_eq!(series(&d, "MEMBERS_JOINED"), months([0., 7., 1.]));
        assert_eq!(series(&d, "API_REQUESTS"), months([0., 6., 0.]));
        // A month's peak is the largest of its days, not their sum.
        assert_eq!(series(&d, "PEAK_SEATS"), months([0., 3., 0.]));
        app.state.services.flush_usage().await.unwrap();
    }
    // A range that is not day-aligned widens to whole days; MONTH buckets
    // are clipped to it.
    let d = usage(
        &app,
        &sa,
        json!({"m": ["MEMBERS_JOINED"], "i": "MONTH", "s": "2028-02-28T10:00:00Z", "e": "2028-03-01T05:00:00Z"}),
    )
    .await;
    assert_eq!(
        series(&d, "MEMBERS_JOINED"),
        pairs(&[("2028-02-28", 4.), ("2028-03-01", 1.)])
    );
    let b = &d["organization"]["usage"][0]["buckets"];
    assert_eq!(at_of(&b[0]["end"]), at("2028-03-01T00:00:00Z"));
    assert_eq!(at_of(&b[1]["end"]), at("2028-03-02T00:00:00Z"));
}

#[tokio::test]
async fn start_and_end_default_to_the_current_plan_period() {
    let app = spawn_long_tokens().await;
    app.clock.set(at("2028-03-20T08:00:00Z"));
    let w = app.world().await;
    // Periods of a plan starting on the 31st: Jan 31, Feb 29 (clamped), Mar 31.
    app.expect_data(
        Some(&w.site_admin),
        SET_PLAN,
        json!({"i": {"organization": w.org_id, "name": "team", "seatLimit": 5, "startsOn": "2028-01-31"}}),
    )
    .await;
    let d = usage(&app, &w.admin, json!({})).await;
    let all = d["organization"]["usage"].as_array().unwrap();
    let metrics: Vec<&str> = all.iter().map(|s| s["metric"].as_str().unwrap()).collect();
    assert_eq!(
        metrics,
        [
            "API_REQUESTS",
            "TOKEN_VERIFICATIONS",
            "TOKENS_ISSUED",
            "INVITATIONS_SENT",
            "MEMBERS_JOINED",
            "PEAK_SEATS"
        ]
    );
    assert_eq!(
        series(&d, "MEMBERS_JOINED"),
        pairs(&[("2028-02-29", 0.), ("2028-03-01", 3.)])
    );
    assert_eq!(
        at_of(&all[0]["buckets"][1]["end"]),
        at("2028-03-31T00:00:00Z")
    );
    let d = usage(&app, &w.admin, json!({"i": "DAY"})).await;
    let days = series(&d, "MEMBERS_JOINED");
    assert_eq!(days.len(), 31);
    assert_eq!(days[0].0, "2028-02-29");
    assert_eq!(days[20], ("2028-03-20".to_string(), 3.));
    // A plan that started today (the default for a new organization).
    let d = app
        .expect_data(
            Some(&w.outsider),
            USAGE,
            json!({"h": "other", "m": ["MEMBERS_JOINED"]}),
        )
        .await;
    assert_eq!(
        series(&d, "MEMBERS_JOINED"),
        pairs(&[("2028-03-20", 1.), ("2028-04-01", 0.)])
    );
    let b = &d["organization"]["usage"][0]["buckets"][1];
    assert_eq!(at_of(&b["end"]), at("2028-04-20T00:00:00Z"));
}

#[tokio::test]
async fn bad_ranges_are_bad_user_input_and_members_may_not_read_usage() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let cases = [
        ("DAY", "2028-01-02T00:00:00Z", "2028-01-02T00:00:00Z", false),
        (
            "MONTH",
            "2028-01-03T00:00:00Z",
            "2028-01-02T00:00:00Z",
            false,
        ),
        ("DAY", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z", true), // 366 days
        ("DAY", "2028-01-01T00:00:00Z", "2029-01-01T00:00:01Z", false), // 367 days
        (
            "MONTH",
            "2020-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            true,
        ), // 10 years
        (
            "MONTH",
            "2020-01-01T00:00:00Z",
            "2030-01-01T00:00:01Z",
            false,
        ),
    ];
    for (interval, s, e, ok) in cases {
        let r = app
            .gql(
                Some(&w.admin),
                USAGE,
                json!({"h": "acme", "m": ["API_REQUESTS"], "i": interval, "s": s, "e": e}),
            )
            .await;
        if ok {
            r.expect_data();
        } else {
            assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{interval} {s} {e}");
            assert_eq!(r.body["errors"][0]["extensions"]["field"], json!(["end"]));
        }
    }
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await;
    for token in [&w.site_admin, &w.admin, &w.billing, &sa] {
        let d = usage(&app, token, json!({"m": ["TOKENS_ISSUED"]})).await;
        assert_eq!(d["organization"]["usage"][0]["metric"], "TOKENS_ISSUED");
    }
    let r = app.gql(Some(&w.member), USAGE, json!({"h": "acme"})).await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    let d = app
        .expect_data(Some(&w.outsider), USAGE, json!({"h": "acme"}))
        .await;
    assert!(d["organization"].is_null());
}
