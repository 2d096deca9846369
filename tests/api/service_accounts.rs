//! Service accounts, the client-credentials grant, and tenant isolation.

use serde_json::{json, Value};

use crate::helpers::*;

const ROTATE: &str = "mutation($i: ServiceAccountIdInput!) { rotateServiceAccountSecret(input: $i) { clientSecret serviceAccount { clientId } } }";
const DELETE: &str =
    "mutation($i: ServiceAccountIdInput!) { deleteServiceAccount(input: $i) { deletedId } }";
const LIST: &str = "query { organization(handle: \"acme\") { serviceAccounts(first: 10) { totalCount nodes { name clientId createdBy { id } } } } }";

#[tokio::test]
async fn only_person_admins_manage_service_accounts() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "ci-bot").await;
    assert!(secret.starts_with("orgs_") && secret.len() == 45);
    let sa = app.sa_token(&cid, &secret).await;
    for (who, token, expect) in [
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("service account", &sa, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
        ("site admin", &w.site_admin, None),
    ] {
        let r = app.gql(Some(token), CREATE_SA, json!({"i": {"organization": w.org_id, "name": format!("by-{}", who.replace(' ', "-"))}})).await;
        assert_eq!(r.code(), expect, "create as {who}");
        let r = app.gql(Some(token), LIST, json!({})).await;
        if expect.is_none() {
            assert!(r.code().is_none());
        } else if who == "outsider" {
            assert_eq!(r.body["data"]["organization"], Value::Null);
        } else {
            assert_eq!(r.code(), Some("FORBIDDEN"), "list as {who}");
        }
    }
    let d = app.expect_data(Some(&w.admin), LIST, json!({})).await;
    assert_eq!(d["organization"]["serviceAccounts"]["totalCount"], 2);
    assert_eq!(
        d["organization"]["serviceAccounts"]["nodes"][0]["createdBy"]["id"],
        w.admin_id.as_str()
    );
}

#[tokio::test]
async fn names_follow_the_rule_and_are_unique_per_organization() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let create = |org: &str, name: &str| json!({"i": {"organization": org, "name": name}});
    assert_eq!(
        app.gql(
            Some(&w.admin),
            CREATE_SA,
            create(&w.org_id, &"a".repeat(64))
        )
        .await
        .code(),
        None
    );
    for bad in [
        "a".repeat(65),
        "".into(),
        "Upper".into(),
        "with space".into(),
        "dot.ted".into(),
    ] {
        let r = app
            .gql(Some(&w.admin), CREATE_SA, create(&w.org_id, &bad))
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{bad:?}");
        assert_eq!(r.body["errors"][0]["extensions"]["field"], json!(["name"]));
    }
    assert_eq!(
        app.gql(Some(&w.admin), CREATE_SA, create(&w.org_id, "bot_1-x"))
            .await
            .code(),
        None
    );
    assert_eq!(
        app.gql(Some(&w.admin), CREATE_SA, create(&w.org_id, "bot_1-x"))
            .await
            .code(),
        Some("ALREADY_EXISTS")
    );
    assert_eq!(
        app.gql(
            Some(&w.outsider),
            CREATE_SA,
            create(&w.other_org_id, "bot_1-x")
        )
        .await
        .code(),
        None
    );
}

#[tokio::test]
async fn the_client_credentials_grant_and_what_a_service_principal_may_do() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    // Secret in the body works as well as HTTP Basic; no refresh token.
    let res = app
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cid),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert!(v.get("refresh_token").is_none());
    let sa = v["access_token"].as_str().unwrap().to_string();
    // Wrong secret via Basic: 401 invalid_client with WWW-Authenticate.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&cid, Some("orgs_not-it"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    // Acts as an ADMIN of its organization...
    assert_eq!(
        app.expect_data(Some(&sa), "{ viewer { id } }", json!({}))
            .await["viewer"],
        Value::Null
    );
    let upd = "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name } } }";
    assert_eq!(
        app.gql(
            Some(&sa),
            upd,
            json!({"i": {"organization": w.org_id, "name": "Robot Co"}})
        )
        .await
        .code(),
        None
    );
    let d = app
        .expect_data(
            Some(&sa),
            "{ organization(handle: \"acme\") { viewerRole name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["organization"],
        json!({"viewerRole": null, "name": "Robot Co"})
    );
    // ...and nothing elsewhere, and never these.
    assert_eq!(
        app.expect_data(
            Some(&sa),
            "{ organization(handle: \"other\") { id } }",
            json!({})
        )
        .await["organization"],
        Value::Null
    );
    assert_eq!(
        app.gql(
            Some(&sa),
            upd,
            json!({"i": {"organization": w.other_org_id, "name": "x"}})
        )
        .await
        .code(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.gql(
            Some(&sa),
            CREATE_ORG,
            json!({"i": {"handle": "robots", "name": "R"}})
        )
        .await
        .code(),
        Some("FORBIDDEN")
    );
    let d = app
        .expect_data(
            Some(&sa),
            "{ organizations(first: 10) { nodes { handle } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organizations"]["nodes"], json!([{"handle": "acme"}]));
    let r = app
        .gql(
            Some(&sa),
            "{ organizations(first: 10, all: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn rotation_and_deletion_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (id, cid, old) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let jwt = app.sa_token(&cid, &old).await;
    let d = app
        .expect_data(Some(&w.admin), ROTATE, json!({"i": {"id": id}}))
        .await;
    let new = d["rotateServiceAccountSecret"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    let res = app
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cid),
            ("client_secret", &old),
        ])
        .await;
    assert_eq!(res.status(), 401, "the old secret stops working at once");
    let fresh = app.sa_token(&cid, &new).await;
    // A JWT issued before the rotation stays valid until it expires...
    assert!(app
        .gql(
            Some(&jwt),
            "{ organization(handle: \"acme\") { id } }",
            json!({})
        )
        .await
        .code()
        .is_none());
    // ...but deleting the service account ends all its JWTs at once.
    for (who, token, expect) in [
        ("member", &w.member, Some("FORBIDDEN")),
        ("service account", &fresh, Some("FORBIDDEN")),
    ] {
        assert_eq!(
            app.gql(Some(token), DELETE, json!({"i": {"id": id}}))
                .await
                .code(),
            expect,
            "delete as {who}"
        );
    }
    let d = app
        .expect_data(Some(&w.admin), DELETE, json!({"i": {"id": id}}))
        .await;
    assert_eq!(d["deleteServiceAccount"]["deletedId"], id.as_str());
    for t in [&jwt, &fresh] {
        let r = app
            .gql(
                Some(t),
                "{ organization(handle: \"acme\") { id } }",
                json!({}),
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.code(), Some("UNAUTHENTICATED"));
    }
}

#[tokio::test]
async fn ids_from_another_organization_answer_like_ids_that_do_not_exist() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // Objects of the other organization.
    let other_member = app
        .managed_members(&w.outsider, &w.other_org_id, 1)
        .await
        .remove(0);
    app.assign(
        &w.outsider,
        &w.other_org_id,
        std::slice::from_ref(&w.outsider_id),
    )
    .await
    .expect_data();
    let d = app
        .expect_data(
            Some(&w.outsider),
            ISSUE,
            json!({"i": {"organization": w.other_org_id}}),
        )
        .await;
    let other_token = d["issueAccessToken"]["accessToken"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (other_sa, _, _) = app
        .service_account(&w.outsider, &w.other_org_id, "theirs")
        .await;
    let random = |kind: &str| global_id(kind, uuid::Uuid::now_v7());

    let role = "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { membership { role } } }";
    let rm = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
    let rv = "mutation($i: RevokeAccessTokenInput!) { revokeAccessToken(input: $i) { accessToken { id } } }";
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            role,
            json!({"i": {"organization": w.org_id, "account": other_member, "role": "ADMIN"}}),
            json!({"i": {"organization": w.org_id, "account": random("Account"), "role": "ADMIN"}}),
        ),
        (
            rm,
            json!({"i": {"organization": w.org_id, "account": other_member}}),
            json!({"i": {"organization": w.org_id, "account": random("Account")}}),
        ),
        (
            rv,
            json!({"i": {"id": other_token}}),
            json!({"i": {"id": random("AccessToken")}}),
        ),
        (
            ROTATE,
            json!({"i": {"id": other_sa}}),
            json!({"i": {"id": random("ServiceAccount")}}),
        ),
        (
            DELETE,
            json!({"i": {"id": other_sa}}),
            json!({"i": {"id": random("ServiceAccount")}}),
        ),
        (
            ISSUE,
            json!({"i": {"organization": w.org_id, "account": other_member}}),
            json!({"i": {"organization": w.org_id, "account": random("Account")}}),
        ),
        (
            ASSIGN,
            json!({"i": {"organization": w.org_id, "accounts": [other_member]}}),
            json!({"i": {"organization": w.org_id, "accounts": [random("Account")]}}),
        ),
        (
            ASSIGN,
            json!({"i": {"organization": w.other_org_id, "accounts": []}}),
            json!({"i": {"organization": random("Organization"), "accounts": []}}),
        ),
    ];
    let strip = |mut v: Value| {
        // Error locations differ with the query text only; compare the rest.
        if let Some(errs) = v["errors"].as_array_mut() {
            for e in errs {
                e.as_object_mut().unwrap().remove("locations");
            }
        }
        // Bulk results echo the ID they were given; that echo may differ.
        if let Some(results) = v["data"]["assignSeats"]["results"].as_array_mut() {
            for r in results {
                r.as_object_mut().unwrap().remove("account");
            }
        }
        v
    };
    for (q, theirs, missing) in cases {
        let a = app.gql(Some(&w.admin), q, theirs).await;
        let b = app.gql(Some(&w.admin), q, missing).await;
        assert_eq!(a.status, b.status);
        assert_eq!(strip(a.body.clone()), strip(b.body.clone()), "{q}");
        assert!(
            a.code() == Some("NOT_FOUND") || a.body.to_string().contains("NOT_A_MEMBER"),
            "{}",
            a.body
        );
    }
    // Node lookups mixing both organizations return only what the caller may see.
    let d = app
        .expect_data(
            Some(&w.admin),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({"ids": [other_token, other_sa, w.org_id]}),
        )
        .await;
    assert_eq!(d["nodes"][0], Value::Null);
    assert_eq!(d["nodes"][1], Value::Null);
    assert_eq!(d["nodes"][2]["id"], w.org_id.as_str());
}
