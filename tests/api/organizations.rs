//! Organizations: creation, defaults, input rules, permissions, plan.

use serde_json::json;

use crate::helpers::*;

const ORG: &str = "query($h: String!) { organization(handle: $h) { id handle name description email link viewerRole
  settings { storageEnabled notebooksEnabled } plan { name seatLimit startsOn endsOn } } }";
const UPDATE: &str = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name description email link } } }";
const SETTINGS: &str = "mutation($i: UpdateOrganizationSettingsInput!) { updateOrganizationSettings(input: $i) { organization { settings { storageEnabled notebooksEnabled } } } }";
const SET_PLAN: &str = "mutation($i: SetPlanInput!) { setPlan(input: $i) { organization { plan { name seatLimit startsOn endsOn } } } }";
const PURCHASE: &str = "mutation($i: PurchaseSeatsInput!) { purchaseSeats(input: $i) { organization { plan { seatLimit } } } }";

#[tokio::test]
async fn a_new_organization_has_the_free_plan_and_its_creator_as_admin() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let d = app
        .expect_data(Some(&w.admin), ORG, json!({"h": "acme"}))
        .await;
    let o = &d["organization"];
    assert_eq!(o["viewerRole"], "ADMIN");
    assert_eq!(o["plan"]["name"], "free");
    assert_eq!(o["plan"]["seatLimit"], 5);
    assert_eq!(o["plan"]["endsOn"], serde_json::Value::Null);
    assert_eq!(
        o["plan"]["startsOn"],
        app.clock.now().date_naive().to_string()
    );
    assert_eq!(o["settings"]["storageEnabled"], true);
    assert_eq!(o["settings"]["notebooksEnabled"], true);
    // Members see it, with their role; the site admin sees it with no role.
    let d = app
        .expect_data(Some(&w.member), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"]["viewerRole"], "MEMBER");
    let d = app
        .expect_data(Some(&w.site_admin), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"]["viewerRole"], serde_json::Value::Null);
    assert_eq!(d["organization"]["handle"], "acme");
    // An outsider gets null, exactly like for a handle that does not exist.
    let d = app
        .expect_data(Some(&w.outsider), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"], serde_json::Value::Null);
    let d = app
        .expect_data(Some(&w.outsider), ORG, json!({"h": "no-such-org"}))
        .await;
    assert_eq!(d["organization"], serde_json::Value::Null);
}

#[tokio::test]
async fn default_seat_limit_is_configurable() {
    let app = TestApp::spawn_with(|c| c.default_seat_limit = 12).await;
    let (t, _) = app.site_admin("boss@example.com").await;
    app.create_org(&t, "big").await;
    let d = app.expect_data(Some(&t), ORG, json!({"h": "big"})).await;
    assert_eq!(d["organization"]["plan"]["seatLimit"], 12);
}

#[tokio::test]
async fn input_rules_at_and_past_their_bounds() {
    let app = TestApp::spawn().await;
    let (t, _) = app.site_admin("boss@example.com").await;
    let create = |handle: String, name: String, extra: serde_json::Value| {
        let mut i = json!({"handle": handle, "name": name});
        for (k, v) in extra.as_object().unwrap() {
            i[k] = v.clone();
        }
        json!({ "i": i })
    };
    let ok39 = format!("a{}", "b".repeat(38));
    let r = app
        .gql(
            Some(&t),
            CREATE_ORG,
            create(ok39.clone(), "x".into(), json!({})),
        )
        .await;
    assert!(r.code().is_none(), "{}", r.body);
    for (handle, why) in [
        (format!("a{}", "b".repeat(39)), "40 chars"),
        ("1abc".to_string(), "starts with a digit"),
        ("Abc".to_string(), "upper case"),
        ("a_b".to_string(), "underscore"),
        ("".to_string(), "empty"),
    ] {
        let r = app
            .gql(Some(&t), CREATE_ORG, create(handle, "x".into(), json!({})))
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{why}");
        assert_eq!(
            r.body["errors"][0]["extensions"]["field"],
            json!(["handle"]),
            "{why}"
        );
    }
    let cases = [
        ("name", json!("n".repeat(100)), json!("n".repeat(101))),
        (
            "description",
            json!("d".repeat(1000)),
            json!("d".repeat(1001)),
        ),
        (
            "email",
            // 254 chars exactly, DNS labels at most 63 each; then 255.
            json!(format!(
                "{}@{}.{}.{}.com",
                "a".repeat(64),
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(57)
            )),
            json!(format!(
                "{}@{}.{}.{}.com",
                "a".repeat(64),
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(58)
            )),
        ),
        (
            "link",
            json!("https://example.com/a"),
            json!("javascript:alert(1)"),
        ),
    ];
    for (n, (field, good, bad)) in cases.into_iter().enumerate() {
        let (name_good, extra_good) = if field == "name" {
            (good.as_str().unwrap().to_string(), json!({}))
        } else {
            ("x".to_string(), json!({ field: good }))
        };
        let r = app
            .gql(
                Some(&t),
                CREATE_ORG,
                create(format!("good{n}"), name_good, extra_good),
            )
            .await;
        assert!(r.code().is_none(), "{field} at bound: {}", r.body);
        let (name_bad, extra_bad) = if field == "name" {
            (bad.as_str().unwrap().to_string(), json!({}))
        } else {
            ("x".to_string(), json!({ field: bad }))
        };
        let r = app
            .gql(
                Some(&t),
                CREATE_ORG,
                create(format!("bad{n}"), name_bad, extra_bad),
            )
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{field} past bound");
        assert_eq!(r.body["errors"][0]["extensions"]["field"], json!([field]));
    }
    // Nothing half-written: the bad handles do not exist.
    let d = app
        .expect_data(
            Some(&t),
            "{ organizations(first: 100, all: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organizations"]["totalCount"], 5);
}

#[tokio::test]
async fn one_of_two_concurrent_creates_of_a_handle_wins() {
    let app = TestApp::spawn().await;
    let (t, _) = app.site_admin("boss@example.com").await;
    for round in 0..10 {
        let handle = format!("race-{round}");
        let v = json!({"i": {"handle": handle, "name": "Race"}});
        let barrier = tokio::sync::Barrier::new(2);
        let (a, b) = tokio::join!(
            async {
                barrier.wait().await;
                app.gql(Some(&t), CREATE_ORG, v.clone()).await
            },
            async {
                barrier.wait().await;
                app.gql(Some(&t), CREATE_ORG, v.clone()).await
            }
        );
        let mut codes = vec![a.code().map(str::to_string), b.code().map(str::to_string)];
        codes.sort();
        assert_eq!(
            codes,
            vec![None, Some("ALREADY_EXISTS".to_string())],
            "round {round}: {} / {}",
            a.body,
            b.body
        );
    }
}

#[tokio::test]
async fn org_creation_can_be_restricted_to_site_admins() {
    let app =
        TestApp::spawn_with(|c| c.org_creation = orgraph::config::OrgCreation::SiteAdmins).await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let org = app.create_org(&root, "first").await;
    let (person, _) = app.user(&root, &org, "p@example.com", "ADMIN").await;
    let r = app
        .gql(
            Some(&person),
            CREATE_ORG,
            json!({"i": {"handle": "mine", "name": "Mine"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn updates_and_settings_follow_the_permission_table() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let upd = |name: &str| json!({"i": {"organization": w.org_id, "name": name, "description": "d", "link": "https://acme.example"}});
    for (who, token, expect) in [
        ("site admin", &w.site_admin, None),
        ("admin", &w.admin, None),
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
    ] {
        let r = app
            .gql(Some(token), UPDATE, upd(&format!("Acme by {who}")))
            .await;
        assert_eq!(r.code(), expect, "updateOrganization as {who}: {}", r.body);
        let r = app
            .gql(
                Some(token),
                SETTINGS,
                json!({"i": {"organization": w.org_id, "storageEnabled": false}}),
            )
            .await;
        assert_eq!(r.code(), expect, "updateOrganizationSettings as {who}");
    }
    let r = app.gql(None, UPDATE, upd("anon")).await;
    assert_eq!(r.code(), Some("UNAUTHENTICATED"));
    let d = app
        .expect_data(Some(&w.member), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"]["name"], "Acme by admin");
    assert_eq!(d["organization"]["link"], "https://acme.example");
    assert_eq!(d["organization"]["settings"]["storageEnabled"], false);
    assert_eq!(d["organization"]["settings"]["notebooksEnabled"], true);
    // An empty string clears an optional field.
    app.expect_data(
        Some(&w.admin),
        UPDATE,
        json!({"i": {"organization": w.org_id, "description": ""}}),
    )
    .await;
    let d = app
        .expect_data(Some(&w.member), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"]["description"], serde_json::Value::Null);
}

#[tokio::test]
async fn plan_changes_follow_the_permission_table_and_rules() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let plan = json!({"i": {"organization": w.org_id, "name": "team", "seatLimit": 20, "startsOn": "2026-01-01", "endsOn": "2026-12-31"}});
    for (who, token, expect) in [
        ("admin", &w.admin, Some("FORBIDDEN")),
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
        ("site admin", &w.site_admin, None),
    ] {
        let r = app.gql(Some(token), SET_PLAN, plan.clone()).await;
        assert_eq!(r.code(), expect, "setPlan as {who}: {}", r.body);
    }
    let d = app
        .expect_data(Some(&w.member), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(
        d["organization"]["plan"],
        json!({"name": "team", "seatLimit": 20, "startsOn": "2026-01-01", "endsOn": "2026-12-31"})
    );

    let bad_end = json!({"i": {"organization": w.org_id, "name": "team", "seatLimit": 20, "startsOn": "2026-02-01", "endsOn": "2026-01-01"}});
    assert_eq!(
        app.gql(Some(&w.site_admin), SET_PLAN, bad_end).await.code(),
        Some("BAD_USER_INPUT")
    );
    let negative = json!({"i": {"organization": w.org_id, "name": "team", "seatLimit": -1, "startsOn": "2026-02-01"}});
    assert_eq!(
        app.gql(Some(&w.site_admin), SET_PLAN, negative)
            .await
            .code(),
        Some("BAD_USER_INPUT")
    );

    for (who, token, expect) in [
        ("admin", &w.admin, None),
        ("billing", &w.billing, None),
        ("site admin", &w.site_admin, None),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
    ] {
        let r = app
            .gql(
                Some(token),
                PURCHASE,
                json!({"i": {"organization": w.org_id, "quantity": 1}}),
            )
            .await;
        assert_eq!(r.code(), expect, "purchaseSeats as {who}");
    }
    let d = app
        .expect_data(Some(&w.member), ORG, json!({"h": "acme"}))
        .await;
    assert_eq!(d["organization"]["plan"]["seatLimit"], 23);
    for q in [0, 10_001, -5] {
        let r = app
            .gql(
                Some(&w.admin),
                PURCHASE,
                json!({"i": {"organization": w.org_id, "quantity": q}}),
            )
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "quantity {q}");
    }
    let r = app
        .gql(
            Some(&w.admin),
            PURCHASE,
            json!({"i": {"organization": w.org_id, "quantity": 10_000}}),
        )
        .await;
    assert!(r.code().is_none());
}

#[tokio::test]
async fn organizations_lists_memberships_and_all_is_for_site_admins() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let q = "query($all: Boolean) { organizations(first: 50, all: $all) { totalCount nodes { handle } } }";
    let d = app
        .expect_data(Some(&w.admin), q, json!({"all": false}))
        .await;
    let mut handles: Vec<String> = d["organizations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["handle"].as_str().unwrap().to_string())
        .collect();
    handles.sort();
    assert_eq!(handles, vec!["acme", "scratch-one"]);
    assert_eq!(
        app.gql(Some(&w.admin), q, json!({"all": true}))
            .await
            .code(),
        Some("FORBIDDEN")
    );
    let d = app
        .expect_data(Some(&w.site_admin), q, json!({"all": true}))
        .await;
    assert_eq!(d["organizations"]["totalCount"], 4);
}

#[tokio::test]
async fn node_resolves_only_what_the_caller_may_see() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let q = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }";
    let ids = json!({"ids": [w.org_id, w.other_org_id, w.member_id, "garbage"]});
    let d = app.expect_data(Some(&w.member), q, ids.clone()).await;
    let n = d["nodes"].as_array().unwrap();
    assert_eq!(n[0]["__typename"], "Organization");
    assert_eq!(n[1], serde_json::Value::Null);
    assert_eq!(n[2]["__typename"], "Account");
    assert_eq!(n[3], serde_json::Value::Null);
    let d = app.expect_data(Some(&w.outsider), q, ids).await;
    let n = d["nodes"].as_array().unwrap();
    assert_eq!(n[0], serde_json::Value::Null);
    assert_eq!(n[1]["__typename"], "Organization");
    assert_eq!(
        n[2],
        serde_json::Value::Null,
        "an outsider cannot see acme's member"
    );
}
