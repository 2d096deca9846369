//! Temporary sign-in tokens and URLs.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

const CREATE: &str = "mutation($i: CreateSignInTokenInput!) { createSignInToken(input: $i) { token url expiresAt } }";
const EXPIRE: &str =
    "mutation($i: ExpireSignInTokenInput!) { expireSignInToken(input: $i) { expired } }";

async fn follow(app: &TestApp, url: &str) -> reqwest::Response {
    app.http.get(url).send().await.unwrap()
}

#[tokio::test]
async fn a_sign_in_url_works_until_it_is_expired() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let d = app
        .expect_data(
            Some(&w.admin),
            CREATE,
            json!({"i": {"account": w.member_id}}),
        )
        .await;
    let t = &d["createSignInToken"];
    let url = t["url"].as_str().unwrap().to_string();
    assert_eq!(
        url,
        format!(
            "{}/signin/{}",
            app.state.services.config.public_url(),
            t["token"].as_str().unwrap()
        )
    );
    for _ in 0..2 {
        let res = follow(&app, &url).await;
        assert_eq!(res.status(), 200, "reusable until it expires");
        let jwt = res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let v = app
            .expect_data(Some(&jwt), "{ viewer { id email } }", json!({}))
            .await;
        assert_eq!(v["viewer"]["id"], w.member_id.as_str());
    }
    let d = app
        .expect_data(Some(&w.admin), EXPIRE, json!({"i": {"token": t["token"]}}))
        .await;
    assert_eq!(d["expireSignInToken"]["expired"], true);
    assert_eq!(follow(&app, &url).await.status(), 401);
    // Lifetime passes.
    let d = app
        .expect_data(
            Some(&w.admin),
            CREATE,
            json!({"i": {"account": w.member_id, "expiresInSeconds": 60}}),
        )
        .await;
    let url = d["createSignInToken"]["url"].as_str().unwrap().to_string();
    assert_eq!(follow(&app, &url).await.status(), 200);
    app.clock.advance(Duration::seconds(61));
    assert_eq!(follow(&app, &url).await.status(), 401);
    assert_eq!(
        follow(&app, &app.url("/signin/not-a-token")).await.status(),
        401
    );
}

#[tokio::test]
async fn lifetime_bounds() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for (secs, ok) in [(59, false), (60, true), (604_800, true), (604_801, false)] {
        let r = app
            .gql(
                Some(&w.admin),
                CREATE,
                json!({"i": {"account": w.member_id, "expiresInSeconds": secs}}),
            )
            .await;
        assert_eq!(r.code().is_none(), ok, "{secs}s");
        if !ok {
            assert_eq!(
                r.body["errors"][0]["extensions"]["field"],
                json!(["expiresInSeconds"])
            );
        }
    }
}

#[tokio::test]
async fn no_escalation_through_sign_in_tokens() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { role } } }";
    // The site admin is a member of acme: an acme admin still cannot mint for them.
    app.expect_data(
        Some(&w.site_admin),
        add,
        json!({"i": {"organization": w.org_id, "account": "root@example.com"}}),
    )
    .await;
    let root_id = app
        .expect_data(Some(&w.site_admin), "{ viewer { id } }", json!({}))
        .await["viewer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.gql(Some(&w.admin), CREATE, json!({"i": {"account": root_id}}))
            .await
            .code(),
        Some("FORBIDDEN")
    );
    // The billing manager becomes ADMIN of an organization the acme admin does not administer.
    app.create_org(&w.billing, "billing-co").await;
    assert_eq!(
        app.gql(
            Some(&w.admin),
            CREATE,
            json!({"i": {"account": w.billing_id}})
        )
        .await
        .code(),
        Some("FORBIDDEN")
    );
    // Members, billing managers and service accounts cannot; outsiders cannot see the account.
    assert_eq!(
        app.gql(
            Some(&w.member),
            CREATE,
            json!({"i": {"account": w.billing_id}})
        )
        .await
        .code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.gql(
            Some(&w.billing),
            CREATE,
            json!({"i": {"account": w.member_id}})
        )
        .await
        .code(),
        Some("FORBIDDEN")
    );
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&cid, &secret).await;
    assert_eq!(
        app.gql(Some(&sa), CREATE, json!({"i": {"account": w.member_id}}))
            .await
            .code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.gql(
            Some(&w.outsider),
            CREATE,
            json!({"i": {"account": w.member_id}})
        )
        .await
        .code(),
        Some("NOT_FOUND")
    );
    // The site admin may, for anyone; the acme admin for an ordinary member.
    assert!(app
        .gql(
            Some(&w.site_admin),
            CREATE,
            json!({"i": {"account": w.billing_id}})
        )
        .await
        .code()
        .is_none());
    assert!(app
        .gql(
            Some(&w.admin),
            CREATE,
            json!({"i": {"account": w.member_id}})
        )
        .await
        .code()
        .is_none());
}
