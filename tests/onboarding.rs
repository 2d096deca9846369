//! onboardUsers over HTTP with real SMTP: accounts, memberships, seats and
//! tokens per user; the welcome and token mails (the mailed secret works at
//! /oauth/introspect and is not in the payload); one notice to the admins;
//! SEAT_LIMIT_REACHED leaves nothing behind for that user.

mod common;

use common::smtp::SmtpSink;
use common::TestApp;
use serde_json::json;

const ONBOARD: &str = "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { email membership { role seat { assignedAt } account { email } } accessToken { id prefix active } error { code field } } } }";

async fn accounts_with(app: &TestApp, email: &str) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    orgraph::entity::account::Entity::find()
        .filter(orgraph::entity::account::Column::Email.eq(email))
        .count(&app.state.db.conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn users_get_account_seat_token_and_two_mails_admins_one_notice() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    app.set_plan(&w.site_admin, &w.org_id, 3, None).await.ok();
    let users = json!([
        {"email": "new1@example.com", "firstName": "New"},
        {"email": "outsider@example.com"},
        {"email": "member@example.com"},
        {"email": "new2@example.com"},
        {"email": "bad email"}
    ]);
    let r = app
        .gql(
            Some(&w.admin),
            ONBOARD,
            json!({"i": {"organization": w.org_id, "users": users}}),
        )
        .await;
    let body = r.body.to_string();
    let res = r.ok()["onboardUsers"]["results"]
        .as_array()
        .unwrap()
        .clone();
    for (i, email) in [
        "new1@example.com",
        "outsider@example.com",
        "member@example.com",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(res[i]["email"], *email);
        assert!(res[i]["error"].is_null(), "{}", res[i]);
        assert_eq!(res[i]["membership"]["account"]["email"], *email);
        assert!(res[i]["membership"]["seat"]["assignedAt"].is_string());
        assert_eq!(res[i]["accessToken"]["active"], true);
    }
    // Three seats, all used: the fourth user gets nothing at all.
    assert_eq!(res[3]["error"]["code"], "SEAT_LIMIT_REACHED");
    assert_eq!(accounts_with(&app, "new2@example.com").await, 0);
    assert_eq!(res[4]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(res[4]["error"]["field"], json!(["users", "4", "email"]));
    // Each onboarded user: a welcome and, separately, the token secret.
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "svc").await;
    for email in [
        "new1@example.com",
        "outsider@example.com",
        "member@example.com",
    ] {
        let welcome = sink.wait_mail(email, "welcome", 1).await;
        assert!(welcome.subject().contains("Org acme"));
        let mail = sink.wait_mail(email, "access-token", 1).await;
        let token = mail.line_starting("orgt_").expect("secret on its own line");
        assert!(!body.contains(&token), "the secret is never in the payload");
        let v = app.introspect(&client_id, &secret, &token).await;
        assert_eq!(v["active"], true, "{email}: {v}");
    }
    assert!(sink.to("new2@example.com").is_empty());
    // One notice to the (only) admin, listing the three.
    let notice = sink
        .wait_mail("admin@example.com", "members-added", 1)
        .await;
    assert!(notice.body().contains("outsider@example.com"));
    assert!(!notice.body().contains("new2@example.com"));
    sink.wait_for(7).await;
    assert_eq!(sink.received().len(), 7);
    let d = app
        .ok(
            Some(&w.admin),
            "{ organization(handle: \"acme\") { seats { used } members { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organization"]["seats"]["used"], 3);
    assert_eq!(d["organization"]["members"]["totalCount"], 5);
}

#[tokio::test]
async fn onboarding_permission_rows() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "svc").await;
    let sa = app.sa_token(&client_id, &secret).await;
    for (n, (name, token, want)) in [
        ("site admin", &w.site_admin, None),
        ("service account", &sa, None),
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
    ]
    .into_iter()
    .enumerate()
    {
        let r = app
            .gql(
                Some(token),
                ONBOARD,
                json!({"i": {"organization": w.org_id, "users": [{"email": format!("p{n}@example.com")}]}}),
            )
            .await;
        assert_eq!(r.code(), want, "{name}: {}", r.body);
        if want.is_some() {
            assert_eq!(accounts_with(&app, &format!("p{n}@example.com")).await, 0);
        }
    }
}
