//! Security review, finding 3: client authentication (introspection and
//! the client-credentials grant) runs argon2 only for a secret it has not
//! verified before, and those checks are rate limited per client id
//! (`--rate-limit-token`, 10 a minute by default) and per client IP
//! (`--rate-limit-client-ip`, 60 a minute by default): a burst of
//! wrong secrets gets 429 with Retry-After instead of queueing on the hash
//! pool sign-in shares. A cached secret stops working the moment its
//! account is rotated or deleted.

use serde_json::json;

use crate::helpers::*;

const ROTATE: &str = "mutation($i: ServiceAccountIdInput!) { rotateServiceAccountSecret(input: $i) { clientSecret } }";
const DELETE: &str =
    "mutation($i: ServiceAccountIdInput!) { deleteServiceAccount(input: $i) { deletedId } }";

async fn statuses(app: &TestApp, cid: &str, secret: &str, n: usize) -> Vec<(u16, bool)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = app.introspect_response(cid, secret, "orgt_x").await;
        out.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    out
}

#[tokio::test]
async fn a_burst_of_wrong_client_secrets_is_refused_with_429_per_client_id() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "bot").await;
    // The good secret, once: verified (one argon2 check) and cached.
    assert_eq!(
        app.introspect(&cid, &secret, "orgt_x").await,
        json!({"active": false})
    );
    let got = statuses(&app, &cid, "orgs_wrong_wrong_wrong", 12).await;
    assert!(got[..9].iter().all(|(s, _)| *s == 401), "{got:?}");
    assert!(
        got[9..].iter().all(|g| *g == (429, true)),
        "past 10 argon2 checks a minute: 429 with Retry-After: {got:?}"
    );
    let r = app
        .introspect_response(&cid, "orgs_wrong_wrong_wrong", "orgt_x")
        .await;
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // The client-credentials grant shares the check and the limit.
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&cid, Some("orgs_wrong_wrong_wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // The real client, whose secret is verified already, is not locked out:
    // a cached secret costs no argon2 check and counts against no limit.
    for _ in 0..20 {
        let r = app.introspect_response(&cid, &secret, "orgt_x").await;
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn unknown_client_ids_are_limited_per_ip() {
    let app = TestApp::spawn_with(|c| c.rate_limit_client_ip = 10).await;
    let mut got = Vec::new();
    for i in 0..12 {
        let r = app
            .introspect_response(&format!("orgc_unknown{i}"), "orgs_guess", "orgt_x")
            .await;
        got.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert!(got[..10].iter().all(|(s, _)| *s == 401), "{got:?}");
    assert!(got[10..].iter().all(|g| *g == (429, true)), "{got:?}");
    // Client ids are parameters too (not only HTTP Basic).
    let r = app
        .http
        .post(app.url("/oauth/introspect"))
        .form(&[
            ("client_id", "orgc_other"),
            ("client_secret", "orgs_guess"),
            ("token", "orgt_x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn the_limits_are_off_at_zero() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit_token = 0;
        c.rate_limit_client_ip = 0;
    })
    .await;
    let got = statuses(&app, "orgc_unknown", "orgs_guess", 15).await;
    assert!(got.iter().all(|(s, _)| *s == 401), "{got:?}");
}

#[tokio::test]
async fn the_per_ip_limit_counts_every_client_id_from_that_address() {
    // Default per-IP budget: 60 a minute (a burst of 60, then one a
    // second). Wrong secrets for ever new client ids, 9 each (under the
    // per-id limit): the first 60 are checked, then 429 comes well before
    // 120.
    let app = TestApp::spawn().await;
    let mut got = Vec::new();
    for n in 0..120 {
        let r = app
            .introspect_response(&format!("orgc_unknown{}", n / 9), "orgs_guess", "orgt_x")
            .await;
        got.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
        if r.status() == 429 {
            break;
        }
    }
    assert!(got[..60].iter().all(|(s, _)| *s == 401), "{got:?}");
    assert_eq!(got.last(), Some(&(429, true)), "{got:?}");
}

#[tokio::test]
async fn a_cached_secret_stops_working_at_rotation_and_deletion() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let (id, cid, old) = app.service_account(&w.admin, &w.org_id, "bot").await;
    // Cached by use, on both paths.
    assert_eq!(
        app.introspect_response(&cid, &old, "orgt_x").await.status(),
        200
    );
    app.sa_token(&cid, &old).await;
    let d = app
        .expect_data(Some(&w.admin), ROTATE, json!({"i": {"id": id}}))
        .await;
    let new = d["rotateServiceAccountSecret"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.introspect_response(&cid, &old, "orgt_x").await.status(),
        401,
        "the rotated-away secret is refused although it was cached"
    );
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&cid, Some(&old))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.introspect_response(&cid, &new, "orgt_x").await.status(),
        200
    );
    app.sa_token(&cid, &new).await;
    app.expect_data(Some(&w.admin), DELETE, json!({"i": {"id": id}}))
        .await;
    assert_eq!(
        app.introspect_response(&cid, &new, "orgt_x").await.status(),
        401,
        "a deleted account's cached secret is refused"
    );
    let r = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&cid, Some(&new))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
