//! Access tokens end to end through /oauth/introspect and /oauth/revoke.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

struct Fixture {
    app: TestApp,
    w: World,
    cid: String,
    secret: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.assign(
        &w.admin,
        &w.org_id,
        &[w.member_id.clone(), w.billing_id.clone()],
    )
    .await
    .expect_data();
    let (_, cid, secret) = app
        .service_account(&w.admin, &w.org_id, "package-server")
        .await;
    Fixture {
        app,
        w,
        cid,
        secret,
    }
}

async fn issue(app: &TestApp, token: &str, org: &str, account: Option<&str>) -> (String, Value) {
    let mut i = json!({"organization": org});
    if let Some(a) = account {
        i["account"] = json!(a);
    }
    let d = app.expect_data(Some(token), ISSUE, json!({ "i": i })).await;
    let p = &d["issueAccessToken"];
    (
        p["secret"].as_str().unwrap().to_string(),
        p["accessToken"].clone(),
    )
}

#[tokio::test]
async fn issue_introspect_then_revoking_the_seat_makes_it_inactive() {
    let f = fixture().await;
    let (secret, t) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    assert!(secret.starts_with("orgt_") && secret.len() == 43);
    assert!(secret.starts_with(t["prefix"].as_str().unwrap()));
    assert_eq!(t["active"], true);
    assert_eq!(t["account"]["id"], f.w.member_id.as_str());
    let i = f.app.introspect(&f.cid, &f.secret, &secret).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["sub"], f.w.member_id.as_str());
    assert_eq!(i["org"], "acme");
    assert_eq!(i["token_type"], "access_token");
    // A year ahead on a plan without an end.
    let exp = i["exp"].as_i64().unwrap();
    let year = (f.app.clock.now() + Duration::days(365)).timestamp();
    assert!((exp - year).abs() < 60, "exp {exp} vs {year}");

    f.app
        .gql(
            Some(&f.w.admin),
            REVOKE_SEATS,
            json!({"i": {"organization": f.w.org_id, "accounts": [f.w.member_id]}}),
        )
        .await
        .expect_data();
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &secret).await,
        json!({"active": false})
    );
    // Without a seat, no new token.
    let r = f
        .app
        .gql(
            Some(&f.w.member),
            ISSUE,
            json!({"i": {"organization": f.w.org_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("NO_SEAT"));
}

#[tokio::test]
async fn removing_the_member_or_revoking_the_token_makes_it_inactive_at_once() {
    let f = fixture().await;
    let (a, _) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    let (b, tb) = issue(&f.app, &f.w.billing, &f.w.org_id, None).await;
    let rm = "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { removedAccountId } }";
    f.app
        .expect_data(
            Some(&f.w.admin),
            rm,
            json!({"i": {"organization": f.w.org_id, "account": f.w.member_id}}),
        )
        .await;
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &a).await["active"],
        false
    );
    let rv = "mutation($i: RevokeAccessTokenInput!) { revokeAccessToken(input: $i) { accessToken { active revokedAt } } }";
    let d = f
        .app
        .expect_data(Some(&f.w.billing), rv, json!({"i": {"id": tb["id"]}}))
        .await;
    assert_eq!(d["revokeAccessToken"]["accessToken"]["active"], false);
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &b).await["active"],
        false
    );
}

#[tokio::test]
async fn the_plan_end_caps_expiry_and_sync_moves_tokens_to_a_new_end() {
    let f = fixture().await;
    let today = f.app.clock.now().date_naive();
    let end = today + Duration::days(10);
    f.app
        .set_plan(&f.w.site_admin, &f.w.org_id, 5, Some(&end.to_string()))
        .await
        .expect_data();
    let (secret, t) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    assert_eq!(
        t["expiresAt"].as_str().unwrap()[..19],
        format!("{end}T23:59:59")
    );
    // Asking for later than the plan's end is refused.
    let later = format!("{}T00:00:00Z", end + Duration::days(1));
    let r = f
        .app
        .gql(
            Some(&f.w.member),
            ISSUE,
            json!({"i": {"organization": f.w.org_id, "expiresAt": later}}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        r.body["errors"][0]["extensions"]["field"],
        json!(["expiresAt"])
    );
    // Renewing the plan does not extend the token; sync does.
    let new_end = today + Duration::days(40);
    f.app
        .set_plan(&f.w.site_admin, &f.w.org_id, 5, Some(&new_end.to_string()))
        .await
        .expect_data();
    let exp_before = f.app.introspect(&f.cid, &f.secret, &secret).await["exp"]
        .as_i64()
        .unwrap();
    assert_eq!(
        exp_before,
        end.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp()
    );
    let sync = "mutation($i: SyncAccessTokensInput!) { syncAccessTokens(input: $i) { updated } }";
    for (who, token, expect) in [
        ("billing", &f.w.billing, Some("FORBIDDEN")),
        ("member", &f.w.member, Some("FORBIDDEN")),
    ] {
        let r = f
            .app
            .gql(
                Some(token),
                sync,
                json!({"i": {"organization": f.w.org_id}}),
            )
            .await;
        assert_eq!(r.code(), expect, "sync as {who}");
    }
    let d = f
        .app
        .expect_data(
            Some(&f.w.admin),
            sync,
            json!({"i": {"organization": f.w.org_id}}),
        )
        .await;
    assert_eq!(d["syncAccessTokens"]["updated"], 1);
    let exp_after = f.app.introspect(&f.cid, &f.secret, &secret).await["exp"]
        .as_i64()
        .unwrap();
    assert_eq!(
        exp_after,
        new_end
            .and_hms_opt(23, 59, 59)
            .unwrap()
            .and_utc()
            .timestamp()
    );
    // The plan's end passes: inactive.
    f.app.clock.advance(Duration::days(41));
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &secret).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn a_changed_character_is_refused_without_a_lookup_and_secrets_are_stored_hashed() {
    let f = fixture().await;
    let (secret, _) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    // Warm the client-secret check, then count statements per introspection.
    f.app.introspect(&f.cid, &f.secret, &secret).await;
    let before = f.app.sql_count().await;
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &secret).await["active"],
        true
    );
    let valid_cost = f.app.sql_count().await - before;
    assert!(
        valid_cost <= 2,
        "{valid_cost} statements for a valid introspection"
    );
    let mut bad = secret.clone().into_bytes();
    bad[12] = if bad[12] == b'x' { b'y' } else { b'x' };
    let bad = String::from_utf8(bad).unwrap();
    let before = f.app.sql_count().await;
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &bad).await,
        json!({"active": false})
    );
    let bad_cost = f.app.sql_count().await - before;
    assert_eq!(bad_cost, valid_cost - 1, "the token lookup must be skipped");

    // No secret in plain text anywhere in the database.
    let (_, sa_cid, sa_secret) = f
        .app
        .service_account(&f.w.admin, &f.w.org_id, "other")
        .await;
    let needles = [secret.as_str(), sa_secret.as_str(), PASSWORD];
    match &f.app.pg {
        None => {
            use std::io::Read;
            let mut bytes = Vec::new();
            for name in ["orgraph.db", "orgraph.db-wal"] {
                if let Ok(mut file) = std::fs::File::open(f.app.dir.path().join(name)) {
                    file.read_to_end(&mut bytes).unwrap();
                }
            }
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                hay.contains(&sa_cid),
                "the scan must see the database (client ids are stored)"
            );
            for n in needles {
                assert!(!hay.contains(n), "a secret is stored in plain text");
            }
        }
        Some(_) => {
            use sea_orm::{ConnectionTrait, Statement};
            for table in [
                "accounts",
                "access_tokens",
                "service_accounts",
                "audit_events",
                "sign_in_tokens",
            ] {
                for n in needles {
                    let sql = format!("SELECT count(*) AS n FROM {table} t WHERE t::text LIKE $1");
                    let row = f
                        .app
                        .state
                        .services
                        .db
                        .conn
                        .query_one_raw(Statement::from_sql_and_values(
                            sea_orm::DatabaseBackend::Postgres,
                            &sql,
                            [format!("%{n}%").into()],
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    let count: i64 = row.try_get("", "n").unwrap();
                    assert_eq!(count, 0, "a secret is stored in plain text in {table}");
                }
            }
        }
    }
}

#[tokio::test]
async fn introspection_needs_a_client_and_sees_only_its_organization() {
    let f = fixture().await;
    let (secret, _) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    let url = f.app.url("/oauth/introspect");
    let res = f
        .app
        .http
        .post(&url)
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = f
        .app
        .introspect_response(&f.cid, "orgs_wrong", &secret)
        .await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    // A member's JWT is not enough; a site admin's is.
    let res = f
        .app
        .http
        .post(&url)
        .bearer_auth(&f.w.admin)
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = f
        .app
        .http
        .post(&url)
        .bearer_auth(&f.w.site_admin)
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["active"], true);
    // Another organization's service account learns nothing.
    let (_, cid2, secret2) = f
        .app
        .service_account(&f.w.outsider, &f.w.other_org_id, "theirs")
        .await;
    assert_eq!(
        f.app.introspect(&cid2, &secret2, &secret).await,
        json!({"active": false})
    );
    assert_eq!(
        f.app.introspect(&cid2, &secret2, "orgt_unknown").await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn the_holder_revokes_with_rfc7009() {
    let f = fixture().await;
    let (secret, _) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    let url = f.app.url("/oauth/revoke");
    let res = f
        .app
        .http
        .post(&url)
        .form(&[("token", secret.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &secret).await["active"],
        false
    );
    let res = f
        .app
        .http
        .post(&url)
        .form(&[("token", "orgt_nothing")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn token_permissions_and_visibility() {
    let f = fixture().await;
    let (app, w) = (&f.app, &f.w);
    // For another member: admins, site admins, service accounts; not billing/members.
    for (who, token, expect) in [
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
        ("admin", &w.admin, None),
        ("site admin", &w.site_admin, None),
    ] {
        let target = if who == "member" {
            &w.billing_id
        } else {
            &w.member_id
        };
        let r = app
            .gql(
                Some(token),
                ISSUE,
                json!({"i": {"organization": w.org_id, "account": target}}),
            )
            .await;
        assert_eq!(r.code(), expect, "issue for another as {who}: {}", r.body);
    }
    let sa = app.sa_token(&f.cid, &f.secret).await;
    assert_eq!(
        app.gql(
            Some(&sa),
            ISSUE,
            json!({"i": {"organization": w.org_id, "account": w.member_id}})
        )
        .await
        .code(),
        None
    );
    assert_eq!(
        app.gql(Some(&sa), ISSUE, json!({"i": {"organization": w.org_id}}))
            .await
            .code(),
        Some("BAD_USER_INPUT")
    );
    // The admin has no seat: NO_SEAT for itself.
    assert_eq!(
        app.gql(
            Some(&w.admin),
            ISSUE,
            json!({"i": {"organization": w.org_id}})
        )
        .await
        .code(),
        Some("NO_SEAT")
    );
    // Lists: admins see all, members their own.
    let list = "query { organization(handle: \"acme\") { accessTokens(first: 50) { totalCount nodes { account { id } } } } }";
    issue(app, &w.billing, &w.org_id, None).await;
    let all = app.expect_data(Some(&w.admin), list, json!({})).await["organization"]
        ["accessTokens"]["totalCount"]
        .as_i64()
        .unwrap();
    assert_eq!(all, 4);
    let own = app.expect_data(Some(&w.billing), list, json!({})).await;
    assert_eq!(own["organization"]["accessTokens"]["totalCount"], 1);
    assert_eq!(
        own["organization"]["accessTokens"]["nodes"][0]["account"]["id"],
        w.billing_id.as_str()
    );
    // A member cannot revoke another's token: it is invisible to them.
    let d = app.expect_data(Some(&w.admin), "query { organization(handle: \"acme\") { accessTokens(first: 1, account: \"\") { nodes { id } } } }".replace("account: \"\"", &format!("account: \"{}\"", w.member_id)).as_str(), json!({})).await;
    let member_token = d["organization"]["accessTokens"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rv = "mutation($i: RevokeAccessTokenInput!) { revokeAccessToken(input: $i) { accessToken { active } } }";
    assert_eq!(
        app.gql(Some(&w.billing), rv, json!({"i": {"id": member_token}}))
            .await
            .code(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.gql(Some(&w.outsider), rv, json!({"i": {"id": member_token}}))
            .await
            .code(),
        Some("NOT_FOUND")
    );
}

/// `lastUsedAt` of the token and of the service account that checked it:
/// empty until the periodic flush, then the time of the last use; the
/// introspection itself writes nothing.
#[tokio::test]
async fn last_used_at_is_written_by_the_flush_for_tokens_and_service_accounts() {
    let f = fixture().await;
    let (secret, t) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    assert!(t["lastUsedAt"].is_null());
    let q = "query { organization(handle: \"acme\") { accessTokens(first: 10) { nodes { prefix lastUsedAt } } serviceAccounts(first: 10) { nodes { name lastUsedAt } } } }";
    let seen = |d: &Value| -> (Value, Value) {
        let token = d["organization"]["accessTokens"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| secret.starts_with(n["prefix"].as_str().unwrap()))
            .expect("the token is listed")["lastUsedAt"]
            .clone();
        let sa = d["organization"]["serviceAccounts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "package-server")
            .expect("the service account is listed")["lastUsedAt"]
            .clone();
        (token, sa)
    };
    f.app.clock.advance(Duration::minutes(3));
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &secret).await["active"],
        true
    );
    let used_at = f.app.clock.now();
    f.app.clock.advance(Duration::minutes(1));
    let before = f.app.expect_data(Some(&f.w.admin), q, json!({})).await;
    assert_eq!(seen(&before), (Value::Null, Value::Null), "not flushed yet");

    f.app.state.services.flush_last_used().await.unwrap();
    let after = f.app.expect_data(Some(&f.w.admin), q, json!({})).await;
    let (token, sa) = seen(&after);
    for v in [&token, &sa] {
        let at = chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert!((at - used_at).num_seconds().abs() <= 1, "{at} vs {used_at}");
    }
    // A failed client check does not count as a use.
    f.app.clock.advance(Duration::minutes(5));
    let r = f
        .app
        .introspect_response(&f.cid, "wrong-secret", &secret)
        .await;
    assert_eq!(r.status(), 401);
    f.app.state.services.flush_last_used().await.unwrap();
    let again = f.app.expect_data(Some(&f.w.admin), q, json!({})).await;
    assert_eq!(seen(&again).1, sa, "a wrong secret is not a use");
}

/// Security review, finding 1: `setPlan` moving the end earlier (even into
/// the past) ends existing tokens at once; introspection also reads the
/// plan's end at the time of the call, so `exp` is never after it.
#[tokio::test]
async fn shortening_the_plan_ends_existing_tokens_at_once() {
    let f = fixture().await;
    let (a, _) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    let (b, _) = issue(&f.app, &f.w.billing, &f.w.org_id, None).await;
    let year = (f.app.clock.now() + Duration::days(365)).timestamp();
    let exp = f.app.introspect(&f.cid, &f.secret, &a).await["exp"]
        .as_i64()
        .unwrap();
    assert!((exp - year).abs() < 60);

    // A nearer end: exp follows it, in introspection and in the API.
    let today = f.app.clock.now().date_naive();
    let soon = today + Duration::days(3);
    f.app
        .set_plan(&f.w.site_admin, &f.w.org_id, 5, Some(&soon.to_string()))
        .await
        .expect_data();
    let soon_ts = soon.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp();
    for t in [&a, &b] {
        let i = f.app.introspect(&f.cid, &f.secret, t).await;
        assert_eq!(i["active"], true);
        assert_eq!(i["exp"], soon_ts);
    }
    let q = "query($h: String!) { organization(handle: $h) { accessTokens { nodes { expiresAt active } } } }";
    let d = f
        .app
        .expect_data(Some(&f.w.admin), q, json!({"h": f.w.handle}))
        .await;
    for n in d["organization"]["accessTokens"]["nodes"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            n["expiresAt"].as_str().unwrap()[..19],
            format!("{soon}T23:59:59")
        );
    }

    // An end in the past: inactive at once, and the stored expiry moved
    // (the API says inactive too).
    let past = today - Duration::days(1);
    f.app
        .set_plan(&f.w.site_admin, &f.w.org_id, 5, Some(&past.to_string()))
        .await
        .expect_data();
    for t in [&a, &b] {
        assert_eq!(
            f.app.introspect(&f.cid, &f.secret, t).await,
            json!({"active": false})
        );
    }
    let d = f
        .app
        .expect_data(Some(&f.w.admin), q, json!({"h": f.w.handle}))
        .await;
    for n in d["organization"]["accessTokens"]["nodes"]
        .as_array()
        .unwrap()
    {
        assert_eq!(n["active"], false, "{n}");
    }
    // Extending the plan again does not revive them (sync would move live
    // tokens only; these ended).
    f.app
        .set_plan(&f.w.site_admin, &f.w.org_id, 5, None)
        .await
        .expect_data();
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &a).await,
        json!({"active": false})
    );
    // The audit event of the shortening says how many tokens it ended.
    let audit = f
        .app
        .expect_data(
            Some(&f.w.admin),
            "query($h: String!) { organization(handle: $h) { auditLog(first: 50) { nodes { action data } } } }",
            json!({"h": f.w.handle}),
        )
        .await;
    let clamped: Vec<i64> = audit["organization"]["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["action"] == "plan.set")
        .filter_map(|n| {
            let d: Value = match &n["data"] {
                Value::String(s) => serde_json::from_str(s).ok()?,
                v => v.clone(),
            };
            d["tokensClamped"].as_i64()
        })
        .collect();
    assert_eq!(clamped.len(), 2, "{audit}");
    assert!(clamped.iter().all(|n| *n == 2), "{clamped:?}");
}

/// Introspection checks the plan's end itself, not only the stored expiry:
/// an organization row whose end was moved without clamping the tokens (a
/// row written by an older release, or by hand) still ends them.
#[tokio::test]
async fn introspection_reads_the_plan_end_at_the_time_of_the_call() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let f = fixture().await;
    let (a, _) = issue(&f.app, &f.w.member, &f.w.org_id, None).await;
    let today = f.app.clock.now().date_naive();
    let end = today + Duration::days(2);
    orgraph::entity::organization::Entity::update_many()
        .col_expr(
            orgraph::entity::organization::Column::PlanEndsOn,
            Expr::value(Some(end)),
        )
        .filter(orgraph::entity::organization::Column::Handle.eq("acme"))
        .exec(&f.app.state.services.db.conn)
        .await
        .unwrap();
    let i = f.app.introspect(&f.cid, &f.secret, &a).await;
    assert_eq!(i["active"], true);
    assert_eq!(
        i["exp"],
        end.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp()
    );
    f.app.clock.advance(Duration::days(3));
    assert_eq!(
        f.app.introspect(&f.cid, &f.secret, &a).await,
        json!({"active": false})
    );
}
