//! The audit walk: every mutation in the schema writes its expected events
//! (the walk fails when the schema has a mutation missing from its table),
//! with what changed in `data` and no secret.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::*;

const LOG: &str = "query($h: String!, $first: Int, $after: String, $action: String, $actor: ID) {
  organization(handle: $h) { auditLog(first: $first, after: $after, action: $action, actor: $actor) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id action occurredAt data actor { id } actorServiceAccount { name } targetAccount { id } } } } }";

async fn log(app: &TestApp, token: &str, h: &str, vars: Value) -> Value {
    let mut v = vars;
    v["h"] = json!(h);
    if v.get("first").is_none() {
        v["first"] = json!(100);
    }
    app.expect_data(Some(token), LOG, v).await["organization"]["auditLog"].clone()
}

/// Every mutation the walk performs, in order. A mutation added to the
/// schema must be added here (and to `perform`), or the walk fails.
const WALK: &[&str] = &[
    "createOrganization",
    "updateOrganization",
    "updateOrganizationSettings",
    "setPlan",
    "purchaseSeats",
    "addMember",
    "createUser",
    "updateMemberRole",
    "assignSeats",
    "issueAccessToken",
    "syncAccessTokens",
    "revokeAccessToken",
    "revokeSeats",
    "createServiceAccount",
    "rotateServiceAccountSecret",
    "deleteServiceAccount",
    "createSignInToken",
    "expireSignInToken",
    "inviteMembers",
    "resendInvitations",
    "revokeInvitations",
    "acceptInvitation",
    "declineInvitation",
    "messageMembers",
    "onboardUsers",
    "removeMember",
    "leaveOrganization",
];

struct Walk<'a> {
    app: &'a TestApp,
    w: &'a World,
    sa: String,
    token_id: String,
    sa_id: String,
    sign_in: String,
    /// Every secret the walk was shown; none may appear in the log.
    secrets: Vec<String>,
    sink: &'a crate::helpers::smtp::SmtpSink,
    invitations: Vec<String>,
}

impl Walk<'_> {
    /// The token of the latest invitation mail to `to` (the accept link).
    async fn mailed_token(&mut self, to: &str, nth: usize) -> String {
        let m = self.sink.wait_mail(to, "invitation", nth).await;
        let prefix = format!("{}/invitations/accept?token=", self.app.base);
        let link = m
            .line_starting(&prefix)
            .expect("accept link on its own line");
        let token = link[prefix.len()..].to_string();
        self.secrets.push(token.clone());
        token
    }

    async fn invite(&self, emails: &[&str]) -> Vec<String> {
        let invitees: Vec<Value> = emails.iter().map(|e| json!({"email": e})).collect();
        let q = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { invitation { id } error { code } } } }";
        let d = self
            .app
            .expect_data(
                Some(&self.w.admin),
                q,
                json!({"i": {"organization": self.w.org_id, "invitees": invitees}}),
            )
            .await;
        d["inviteMembers"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["invitation"]["id"].as_str().expect("invited").to_string())
            .collect()
    }
}

impl Walk<'_> {
    async fn run(&self, token: &str, field: &str, input: Value) -> Value {
        let q = format!(
            "mutation($i: {}!) {{ {field}(input: $i) {{ __typename }} }}",
            input_type(field)
        );
        let d = self
            .app
            .expect_data(Some(token), &q, json!({ "i": input }))
            .await;
        d[field].clone()
    }

    /// Perform one mutation; returns (organization handle, expected actions, data check).
    async fn perform(&mut self, name: &str) -> (&'static str, Vec<&'static str>, Option<Value>) {
        let (app, w) = (self.app, self.w);
        let org = w.org_id.clone();
        let q = |s: &'static str, v: Value| app.expect_data(Some(&w.admin), s, v);
        match name {
            "createOrganization" => {
                app.create_org(&w.admin, "beta").await;
                ("beta", vec!["member.add", "organization.create"], None)
            }
            "updateOrganization" => {
                self.run(
                    &w.admin,
                    name,
                    json!({"organization": org, "name": "Acme Inc"}),
                )
                .await;
                let d = json!({"name": {"before": "Org acme", "after": "Acme Inc"}});
                ("acme", vec!["organization.update"], Some(d))
            }
            "updateOrganizationSettings" => {
                // By a service account: actor null, actorServiceAccount set.
                self.run(
                    &self.sa,
                    name,
                    json!({"organization": org, "storageEnabled": false}),
                )
                .await;
                let d = json!({"storageEnabled": {"before": true, "after": false}});
                ("acme", vec!["organization.settings_update"], Some(d))
            }
            "setPlan" => {
                app.set_plan(&w.site_admin, &org, 10, None)
                    .await
                    .expect_data();
                ("acme", vec!["plan.set"], None)
            }
            "purchaseSeats" => {
                self.run(
                    &w.billing,
                    name,
                    json!({"organization": org, "quantity": 2}),
                )
                .await;
                let d = json!({"quantity": 2, "seatLimit": {"before": 10, "after": 12}});
                ("acme", vec!["plan.purchase_seats"], Some(d))
            }
            "addMember" => {
                let i = json!({"organization": org, "account": "outsider@example.com"});
                self.run(&w.site_admin, name, i).await;
                ("acme", vec!["member.add"], None)
            }
            "createUser" => {
                app.managed_members(&w.admin, &org, 1).await;
                ("acme", vec!["account.create", "member.add"], None)
            }
            "updateMemberRole" => {
                let i =
                    json!({"organization": org, "account": w.member_id, "role": "BILLING_MANAGER"});
                self.run(&w.admin, name, i).await;
                let d = json!({"role": {"before": "MEMBER", "after": "BILLING_MANAGER"}});
                ("acme", vec!["member.role_update"], Some(d))
            }
            "assignSeats" => {
                app.assign(&w.admin, &org, std::slice::from_ref(&w.member_id))
                    .await
                    .expect_data();
                ("acme", vec!["seat.assign"], None)
            }
            "issueAccessToken" => {
                let soon = (app.clock.now() + chrono::Duration::days(1)).to_rfc3339();
                let i = json!({"organization": org, "account": w.member_id, "expiresAt": soon});
                let d = q(ISSUE, json!({ "i": i })).await;
                self.secrets
                    .push(d["issueAccessToken"]["secret"].as_str().unwrap().into());
                self.token_id = d["issueAccessToken"]["accessToken"]["id"]
                    .as_str()
                    .unwrap()
                    .into();
                ("acme", vec!["token.issue"], None)
            }
            "syncAccessTokens" => {
                self.run(&w.admin, name, json!({"organization": org})).await;
                ("acme", vec!["token.sync"], None)
            }
            "revokeAccessToken" => {
                self.run(&w.admin, name, json!({"id": self.token_id})).await;
                ("acme", vec!["token.revoke"], None)
            }
            "revokeSeats" => {
                let i = json!({"organization": org, "accounts": [w.member_id]});
                self.run(&w.admin, name, i).await;
                ("acme", vec!["seat.revoke"], None)
            }
            "createServiceAccount" => {
                let (id, _, secret) = app.service_account(&w.admin, &org, "walker").await;
                self.sa_id = id;
                self.secrets.push(secret);
                ("acme", vec!["service_account.create"], None)
            }
            "rotateServiceAccountSecret" => {
                let d = q(
                    "mutation($i: ServiceAccountIdInput!) { rotateServiceAccountSecret(input: $i) { clientSecret } }",
                    json!({"i": {"id": self.sa_id}}),
                )
                .await;
                self.secrets
                    .push(d[name]["clientSecret"].as_str().unwrap().into());
                ("acme", vec!["service_account.rotate_secret"], None)
            }
            "deleteServiceAccount" => {
                self.run(&w.admin, name, json!({"id": self.sa_id})).await;
                ("acme", vec!["service_account.delete"], None)
            }
            "createSignInToken" => {
                let d = q(
                    "mutation($i: CreateSignInTokenInput!) { createSignInToken(input: $i) { token url } }",
                    json!({"i": {"account": w.member_id}}),
                )
                .await;
                self.sign_in = d[name]["token"].as_str().unwrap().into();
                self.secrets.push(self.sign_in.clone());
                ("acme", vec!["signin_token.create"], None)
            }
            "expireSignInToken" => {
                self.run(&w.admin, name, json!({"token": self.sign_in}))
                    .await;
                ("acme", vec!["signin_token.expire"], None)
            }
            "inviteMembers" => {
                self.invitations = self
                    .invite(&["walk1@example.com", "walk2@example.com"])
                    .await;
                ("acme", vec!["invitation.create", "invitation.create"], None)
            }
            "resendInvitations" => {
                let ids = json!([self.invitations[0]]);
                self.run(&w.admin, name, json!({"ids": ids})).await;
                ("acme", vec!["invitation.resend"], None)
            }
            "revokeInvitations" => {
                let ids = json!([self.invitations[1]]);
                self.run(&w.admin, name, json!({"ids": ids})).await;
                ("acme", vec!["invitation.revoke"], None)
            }
            "acceptInvitation" => {
                let token = self.mailed_token("walk1@example.com", 2).await;
                let q = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { role } } }";
                app.expect_data(
                    None,
                    q,
                    json!({"i": {"token": token, "password": PASSWORD}}),
                )
                .await;
                (
                    "acme",
                    vec!["account.create", "invitation.accept", "member.add"],
                    None,
                )
            }
            "declineInvitation" => {
                self.invite(&["walk3@example.com"]).await;
                let token = self.mailed_token("walk3@example.com", 1).await;
                let q = "mutation($t: String!) { declineInvitation(input: {token: $t}) { invitation { status } } }";
                app.expect_data(None, q, json!({"t": token})).await;
                (
                    "acme",
                    vec!["invitation.create", "invitation.decline"],
                    None,
                )
            }
            "messageMembers" => {
                self.run(
                    &w.admin,
                    name,
                    json!({"organization": org, "subject": "Hello", "body": "**all** of you"}),
                )
                .await;
                ("acme", vec!["message.send"], None)
            }
            "onboardUsers" => {
                let q = "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { error { code } } } }";
                let d = app.expect_data(Some(&w.admin), q, json!({"i": {"organization": org, "users": [{"email": "onboard@example.com"}]}})).await;
                assert!(d["onboardUsers"]["results"][0]["error"].is_null(), "{d}");
                (
                    "acme",
                    vec!["account.create", "member.add", "seat.assign", "token.issue"],
                    None,
                )
            }
            "removeMember" => {
                let i = json!({"organization": org, "account": w.outsider_id});
                self.run(&w.admin, name, i).await;
                ("acme", vec!["member.remove"], None)
            }
            "leaveOrganization" => {
                self.run(&w.billing, name, json!({"organization": org}))
                    .await;
                ("acme", vec!["member.leave"], None)
            }
            other => panic!("the walk has no step for {other}: add one to WALK and perform()"),
        }
    }
}

fn input_type(field: &str) -> String {
    match field {
        "resendInvitations" | "revokeInvitations" => "InvitationIdsInput".into(),
        "assignSeats" | "revokeSeats" => "SeatAccountsInput".into(),
        "rotateServiceAccountSecret" | "deleteServiceAccount" => "ServiceAccountIdInput".into(),
        f => {
            let mut c = f.chars();
            let first = c.next().unwrap().to_ascii_uppercase();
            format!("{first}{}Input", c.as_str())
        }
    }
}

#[tokio::test]
async fn every_mutation_writes_its_events_and_no_secret() {
    let sink = crate::helpers::smtp::SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    // The walk's table must name every mutation of the schema.
    let d = app
        .expect_data(
            Some(&w.admin),
            "{ __type(name: \"Mutation\") { fields { name } } }",
            json!({}),
        )
        .await;
    let in_schema: BTreeSet<String> = d["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let walked: BTreeSet<String> = WALK.iter().map(|s| s.to_string()).collect();
    let missing: Vec<_> = in_schema.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "mutations missing from the audit walk: {missing:?}"
    );

    let (_, cid, secret) = app.service_account(&w.admin, &w.org_id, "auditor").await;
    let sa = app.sa_token(&cid, &secret).await;
    let mut walk = Walk {
        app: &app,
        w: &w,
        sa,
        token_id: String::new(),
        sa_id: String::new(),
        sign_in: String::new(),
        secrets: vec![secret],
        sink: &sink,
        invitations: Vec::new(),
    };
    for name in WALK {
        let before = log(&app, &w.site_admin, "acme", json!({})).await["totalCount"]
            .as_i64()
            .unwrap();
        let (handle, mut expect, data) = walk.perform(name).await;
        let l = log(&app, &w.site_admin, handle, json!({})).await;
        let grown = if handle == "acme" {
            l["totalCount"].as_i64().unwrap() - before
        } else {
            l["totalCount"].as_i64().unwrap()
        };
        let newest = l["nodes"].as_array().unwrap();
        let mut got: Vec<&str> = newest[..grown as usize]
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        got.sort();
        expect.sort();
        assert_eq!(got, expect, "events of {name}");
        if let Some(d) = data {
            assert_eq!(newest[0]["data"], d, "data of {name}");
        }
        if *name == "updateOrganizationSettings" {
            assert!(newest[0]["actor"].is_null());
            assert_eq!(newest[0]["actorServiceAccount"]["name"], "auditor");
        } else if handle == "acme"
            && *name != "addMember"
            && *name != "setPlan"
            // Declined without signing in: nobody to name.
            && *name != "declineInvitation"
        {
            assert!(
                newest[0]["actor"]["id"].is_string(),
                "{name}: {}",
                newest[0]
            );
        }
    }
    let text = log(&app, &w.site_admin, "acme", json!({}))
        .await
        .to_string();
    for s in &walk.secrets {
        assert!(!text.contains(s.as_str()), "a secret is in the audit log");
    }
}
