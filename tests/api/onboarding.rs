//! onboardUsers over HTTP with real SMTP: accounts, memberships, seats and
//! tokens per user; the welcome and token mails (the mailed secret works at
//! /oauth/introspect and is not in the payload); one notice to the admins;
//! SEAT_LIMIT_REACHED leaves nothing behind for that user; an existing
//! account that is not a member is invited, never added.

use serde_json::json;

use crate::helpers::smtp::SmtpSink;
use crate::helpers::TestApp;

const ONBOARD: &str = "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { email membership { role seat { assignedAt } account { email } } accessToken { id prefix active } error { code field } invitation { id email status } } } }";

async fn accounts_with(app: &TestApp, email: &str) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    orgraph::entity::account::Entity::find()
        .filter(orgraph::entity::account::Column::Email.eq(email))
        .count(&app.state.services.db.conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn users_get_account_seat_token_and_two_mails_admins_one_notice() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    app.set_plan(&w.site_admin, &w.org_id, 2, None)
        .await
        .expect_data();
    let users = json!([
        {"email": "new1@example.com", "firstName": "New"},
        {"email": "outsider@example.com", "firstName": "Renamed"},
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
    let res = r.expect_data()["onboardUsers"]["results"]
        .as_array()
        .unwrap()
        .clone();
    // A new email and an existing member: seat and token.
    for i in [0, 2] {
        let email = res[i]["email"].as_str().unwrap();
        assert!(res[i]["error"].is_null(), "{}", res[i]);
        assert!(res[i]["invitation"].is_null(), "{}", res[i]);
        assert_eq!(res[i]["membership"]["account"]["email"], email);
        assert!(res[i]["membership"]["seat"]["assignedAt"].is_string());
        assert_eq!(res[i]["accessToken"]["active"], true);
    }
    // An existing account that is not a member is invited, not added.
    assert_eq!(res[1]["email"], "outsider@example.com");
    assert!(res[1]["error"].is_null(), "{}", res[1]);
    assert!(res[1]["membership"].is_null());
    assert!(res[1]["accessToken"].is_null());
    assert_eq!(res[1]["invitation"]["status"], "PENDING");
    assert_eq!(res[1]["invitation"]["email"], "outsider@example.com");
    // Two seats, both used: the fourth user gets nothing at all.
    assert_eq!(res[3]["error"]["code"], "SEAT_LIMIT_REACHED");
    assert_eq!(accounts_with(&app, "new2@example.com").await, 0);
    assert_eq!(res[4]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(res[4]["error"]["field"], json!(["users", "4", "email"]));
    // Each onboarded user: a welcome and, separately, the token secret.
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "svc").await;
    for email in ["new1@example.com", "member@example.com"] {
        let welcome = sink.wait_mail(email, "welcome", 1).await;
        assert!(welcome.subject().contains("Org acme"));
        let mail = sink.wait_mail(email, "access-token", 1).await;
        let token = mail.line_starting("orgt_").expect("secret on its own line");
        assert!(!body.contains(&token), "the secret is never in the payload");
        let v = app.introspect(&client_id, &secret, &token).await;
        assert_eq!(v["active"], true, "{email}: {v}");
    }
    // The invited account gets the invitation mail only.
    sink.wait_mail("outsider@example.com", "invitation", 1)
        .await;
    assert!(sink.to("new2@example.com").is_empty());
    // One notice to the (only) admin, listing the two who were added.
    let notice = sink
        .wait_mail("admin@example.com", "members-added", 1)
        .await;
    assert!(notice.body().contains("new1@example.com"));
    assert!(!notice.body().contains("outsider@example.com"));
    assert!(!notice.body().contains("new2@example.com"));
    sink.wait_for(6).await;
    assert_eq!(sink.received().len(), 6);
    assert_eq!(
        sink.to("outsider@example.com").len(),
        1,
        "no welcome or token"
    );
    let d = app
        .expect_data(
            Some(&w.admin),
            "{ organization(handle: \"acme\") { seats { used } members { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organization"]["seats"]["used"], 2);
    assert_eq!(d["organization"]["members"]["totalCount"], 4);
    // The outsider's account is untouched and not a member of acme.
    let v = app
        .expect_data(
            Some(&w.outsider),
            "{ viewer { firstName memberships { nodes { organization { handle } } } } }",
            json!({}),
        )
        .await;
    assert!(v["viewer"]["firstName"].is_null());
    let orgs = v["viewer"]["memberships"]["nodes"].to_string();
    assert!(!orgs.contains("acme"), "{orgs}");
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
