//! Invitations over HTTP with mail delivered through real SMTP: the accept
//! link from the mail is followed, the lifecycle of rules.md invariant 4,
//! concurrency, permission rows and audit events.

use serde_json::{json, Value};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::{TestApp, World, PASSWORD};

pub const INVITE: &str = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { email invitation { id email role status expiresAt sendCount } error { code message field } } } }";
const RESEND: &str = "mutation($i: InvitationIdsInput!) { resendInvitations(input: $i) { results { email invitation { id status expiresAt sendCount lastSentAt } error { code field } } } }";
const REVOKE: &str = "mutation($i: InvitationIdsInput!) { revokeInvitations(input: $i) { results { email invitation { id status } error { code } } } }";
const ACCEPT: &str = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { role seat { assignedAt } account { email } organization { handle } } } }";
const DECLINE: &str =
    "mutation($t: String!) { declineInvitation(input: {token: $t}) { invitation { status } } }";
const LIST: &str = "query($h: String!, $s: InvitationStatus) { organization(handle: $h) { invitations(status: $s) { totalCount nodes { email status } } } }";

async fn setup() -> (SmtpSink, TestApp, World) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    (sink, app, w)
}

async fn invite(app: &TestApp, token: &str, org: &str, email: &str, role: &str) -> Value {
    let d = app
        .expect_data(
            Some(token),
            INVITE,
            json!({"i": {"organization": org, "invitees": [{"email": email, "role": role}]}}),
        )
        .await;
    d["inviteMembers"]["results"][0].clone()
}

/// The token in the accept link of the `nth` (1-based) invitation mail to `to`.
async fn mailed_token(app: &TestApp, sink: &SmtpSink, to: &str, nth: usize) -> String {
    let m = sink.wait_mail(to, "invitation", nth).await;
    let prefix = format!("{}/invitations/accept?token=", app.base);
    let link = m
        .line_starting(&prefix)
        .unwrap_or_else(|| panic!("accept link on a line of its own: {}", m.body()));
    link[prefix.len()..].to_string()
}

async fn accept_anon(app: &TestApp, token: &str) -> crate::helpers::Resp {
    app.gql(
        None,
        ACCEPT,
        json!({"i": {"token": token, "password": PASSWORD, "firstName": "New"}}),
    )
    .await
}

async fn audit_count(app: &TestApp, action: &str) -> u64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    orgraph::entity::audit_event::Entity::find()
        .filter(orgraph::entity::audit_event::Column::Action.eq(action))
        .count(&app.state.services.db.conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn mailed_link_accepts_signed_out_and_makes_a_member_without_a_seat() {
    let (sink, app, w) = setup().await;
    let r = invite(&app, &w.admin, &w.org_id, " New@Example.com ", "MEMBER").await;
    assert_eq!(r["invitation"]["email"], "new@example.com");
    assert_eq!(r["invitation"]["status"], "PENDING");
    let m = sink.wait_mail("new@example.com", "invitation", 1).await;
    assert_eq!(m.to(), "new@example.com");
    assert!(m.subject().contains("Org acme"), "{}", m.subject());
    let token = mailed_token(&app, &sink, "new@example.com", 1).await;
    // What an accept page shows, without using the token.
    let d = app
        .expect_data(
            None,
            "query($t: String!) { invitation(token: $t) { email role status organizationName } }",
            json!({"t": token}),
        )
        .await;
    assert_eq!(
        d["invitation"],
        json!({"email": "new@example.com", "role": "MEMBER", "status": "PENDING", "organizationName": "Org acme"})
    );
    let r = accept_anon(&app, &token).await;
    let m = &r.expect_data()["acceptInvitation"]["membership"];
    assert_eq!(m["role"], "MEMBER");
    assert_eq!(m["seat"], Value::Null);
    assert_eq!(m["account"]["email"], "new@example.com");
    // The new account signs in and sees the organization.
    let t = app.sign_in("new@example.com", PASSWORD).await;
    let d = app
        .expect_data(
            Some(&t),
            "{ organization(handle: \"acme\") { viewerRole } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organization"]["viewerRole"], "MEMBER");
    // Used: the token is single-use.
    assert_eq!(
        accept_anon(&app, &token).await.code(),
        Some("INVITATION_NOT_PENDING")
    );
    let d = app
        .expect_data(Some(&w.admin), LIST, json!({"h": "acme", "s": "ACCEPTED"}))
        .await;
    assert_eq!(d["organization"]["invitations"]["totalCount"], 1);
    for action in [
        "invitation.create",
        "invitation.accept",
        "member.add",
        "account.create",
    ] {
        assert!(audit_count(&app, action).await >= 1, "{action}");
    }
}

#[tokio::test]
async fn lifecycle_resend_extends_then_expires_then_resend_revives() {
    let (sink, app, w) = setup().await;
    let r = invite(
        &app,
        &w.admin,
        &w.org_id,
        "late@example.com",
        "BILLING_MANAGER",
    )
    .await;
    let id = r["invitation"]["id"].as_str().unwrap().to_string();
    let first_expiry = r["invitation"]["expiresAt"].as_str().unwrap().to_string();
    let first_token = mailed_token(&app, &sink, "late@example.com", 1).await;
    app.clock.advance(chrono::Duration::days(1));
    // Signed-in tokens live minutes: sign in again after moving the clock.
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    let d = app
        .expect_data(Some(&admin), RESEND, json!({"i": {"ids": [id]}}))
        .await;
    let inv = &d["resendInvitations"]["results"][0]["invitation"];
    assert_eq!(inv["sendCount"], 2);
    let later = inv["expiresAt"].as_str().unwrap();
    assert!(later > first_expiry.as_str(), "{later} > {first_expiry}");
    let m = sink.wait_mail("late@example.com", "invitation", 2).await;
    assert!(m.subject().starts_with("Reminder"));
    let token = mailed_token(&app, &sink, "late@example.com", 2).await;
    // A resend mails a new token; the old link no longer works.
    assert_eq!(
        accept_anon(&app, &first_token).await.code(),
        Some("NOT_FOUND")
    );
    app.clock.advance(chrono::Duration::days(8));
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    assert_eq!(
        accept_anon(&app, &token).await.code(),
        Some("INVITATION_EXPIRED")
    );
    let d = app
        .expect_data(Some(&admin), LIST, json!({"h": "acme", "s": "EXPIRED"}))
        .await;
    assert_eq!(
        d["organization"]["invitations"]["nodes"][0]["status"],
        "EXPIRED"
    );
    let d = app
        .expect_data(Some(&admin), RESEND, json!({"i": {"ids": [id]}}))
        .await;
    assert_eq!(
        d["resendInvitations"]["results"][0]["invitation"]["status"],
        "PENDING"
    );
    let token = mailed_token(&app, &sink, "late@example.com", 3).await;
    let r = accept_anon(&app, &token).await;
    assert_eq!(
        r.expect_data()["acceptInvitation"]["membership"]["role"],
        "BILLING_MANAGER"
    );
    // Accepted: resend and revoke are no longer possible.
    let d = app
        .expect_data(Some(&admin), RESEND, json!({"i": {"ids": [id]}}))
        .await;
    assert_eq!(
        d["resendInvitations"]["results"][0]["error"]["code"],
        "INVITATION_NOT_PENDING"
    );
    assert_eq!(audit_count(&app, "invitation.resend").await, 2);
}

#[tokio::test]
async fn revoked_and_declined_invitations_cannot_be_accepted() {
    let (sink, app, w) = setup().await;
    let r = invite(&app, &w.admin, &w.org_id, "gone@example.com", "MEMBER").await;
    let id = r["invitation"]["id"].as_str().unwrap().to_string();
    let token = mailed_token(&app, &sink, "gone@example.com", 1).await;
    let d = app
        .expect_data(
            Some(&w.admin),
            REVOKE,
            json!({"i": {"ids": [id.clone(), id]}}),
        )
        .await;
    let results = &d["revokeInvitations"]["results"];
    assert_eq!(results[0]["invitation"]["status"], "REVOKED");
    assert_eq!(results[1]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        accept_anon(&app, &token).await.code(),
        Some("INVITATION_NOT_PENDING")
    );
    assert_eq!(audit_count(&app, "invitation.revoke").await, 1);
    // A new invitation after a revoked one is fine; declining ends it too.
    invite(&app, &w.admin, &w.org_id, "gone@example.com", "MEMBER").await;
    let token = mailed_token(&app, &sink, "gone@example.com", 2).await;
    let d = app.expect_data(None, DECLINE, json!({"t": token})).await;
    assert_eq!(d["declineInvitation"]["invitation"]["status"], "DECLINED");
    assert_eq!(
        accept_anon(&app, &token).await.code(),
        Some("INVITATION_NOT_PENDING")
    );
    assert_eq!(audit_count(&app, "invitation.decline").await, 1);
}

#[tokio::test]
async fn ten_concurrent_accepts_of_one_token_exactly_one_wins() {
    let (sink, app, w) = setup().await;
    invite(&app, &w.admin, &w.org_id, "race@example.com", "MEMBER").await;
    let token = mailed_token(&app, &sink, "race@example.com", 1).await;
    let results = futures_util::future::join_all((0..10).map(|_| accept_anon(&app, &token))).await;
    let wins = results.iter().filter(|r| r.code().is_none()).count();
    assert_eq!(
        wins,
        1,
        "{:?}",
        results.iter().map(|r| r.code()).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.code().is_some()) {
        assert!(
            matches!(
                r.code(),
                Some("INVITATION_NOT_PENDING") | Some("ALREADY_EXISTS")
            ),
            "{}",
            r.body
        );
    }
    let d = app
        .expect_data(
            Some(&w.admin),
            "{ organization(handle: \"acme\") { members { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organization"]["members"]["totalCount"], 4);
}

#[tokio::test]
async fn a_signed_in_accepter_must_have_the_invited_email() {
    let (sink, app, w) = setup().await;
    invite(&app, &w.admin, &w.org_id, "someone@example.com", "MEMBER").await;
    let token = mailed_token(&app, &sink, "someone@example.com", 1).await;
    let r = app
        .gql(Some(&w.outsider), ACCEPT, json!({"i": {"token": token}}))
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
    // The outsider's own invitation works signed in, with the invited role.
    invite(
        &app,
        &w.admin,
        &w.org_id,
        "outsider@example.com",
        "BILLING_MANAGER",
    )
    .await;
    let token = mailed_token(&app, &sink, "outsider@example.com", 1).await;
    let r = app
        .gql(Some(&w.outsider), ACCEPT, json!({"i": {"token": token}}))
        .await;
    assert_eq!(
        r.expect_data()["acceptInvitation"]["membership"]["role"],
        "BILLING_MANAGER"
    );
    // Signed out with an email whose account an admin provisioned and its
    // owner never took: the mailed token proves the owner, who claims it.
    invite(
        &app,
        &w.outsider,
        &w.other_org_id,
        "member@example.com",
        "MEMBER",
    )
    .await;
    let token = mailed_token(&app, &sink, "member@example.com", 1).await;
    let r = app.gql(None, ACCEPT, json!({"i": {"token": token}})).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "a password is needed");
    assert!(accept_anon(&app, &token).await.code().is_none());
    assert_eq!(audit_count(&app, "account.claim").await, 1);
    // Once claimed, signed out is ALREADY_EXISTS: sign in first.
    let third = app.create_org(&w.billing, "third").await;
    invite(&app, &w.billing, &third, "member@example.com", "MEMBER").await;
    let token = mailed_token(&app, &sink, "member@example.com", 2).await;
    assert_eq!(
        accept_anon(&app, &token).await.code(),
        Some("ALREADY_EXISTS")
    );
}

#[tokio::test]
async fn members_pending_invitations_and_batch_duplicates_are_reported_per_item() {
    let (_sink, app, w) = setup().await;
    invite(&app, &w.admin, &w.org_id, "p@example.com", "MEMBER").await;
    let d = app
        .expect_data(
            Some(&w.admin),
            INVITE,
            json!({"i": {"organization": w.org_id, "invitees": [
                {"email": "member@example.com"},
                {"email": "p@example.com"},
                {"email": "fresh@example.com"},
                {"email": "FRESH@example.com"},
                {"email": "not-an-email"}
            ]}}),
        )
        .await;
    let r = &d["inviteMembers"]["results"];
    assert_eq!(r[0]["error"]["code"], "ALREADY_EXISTS");
    assert_eq!(r[1]["error"]["code"], "ALREADY_EXISTS");
    assert_eq!(r[2]["invitation"]["status"], "PENDING");
    assert_eq!(r[3]["error"]["code"], "ALREADY_EXISTS");
    assert_eq!(r[4]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(r[4]["error"]["field"], json!(["invitees", "4", "email"]));
    // An expired pending invitation is superseded by inviting again.
    app.clock.advance(chrono::Duration::days(8));
    let admin = app.sign_in("admin@example.com", PASSWORD).await;
    let r = invite(&app, &admin, &w.org_id, "p@example.com", "ADMIN").await;
    assert_eq!(r["invitation"]["status"], "PENDING");
    assert_eq!(r["invitation"]["role"], "ADMIN");
    let d = app
        .expect_data(Some(&admin), LIST, json!({"h": "acme", "s": "PENDING"}))
        .await;
    assert_eq!(d["organization"]["invitations"]["totalCount"], 1);
}

#[tokio::test]
async fn permission_rows_for_invitations() {
    let (_sink, app, w) = setup().await;
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "robot").await;
    let sa = app.sa_token(&client_id, &secret).await;
    let who = [
        ("site admin", &w.site_admin, None),
        ("admin", &w.admin, None),
        ("service account", &sa, None),
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
    ];
    for (n, (name, token, want)) in who.iter().enumerate() {
        let email = format!("perm{n}@example.com");
        let r = app
            .gql(
                Some(token),
                INVITE,
                json!({"i": {"organization": w.org_id, "invitees": [{"email": email}]}}),
            )
            .await;
        assert_eq!(r.code(), *want, "invite as {name}: {}", r.body);
        let list = app.gql(Some(token), LIST, json!({"h": "acme"})).await;
        match want {
            None => assert!(list.body["errors"].is_null(), "list as {name}"),
            Some("NOT_FOUND") => assert_eq!(list.data()["organization"], Value::Null),
            Some(code) => assert_eq!(list.code(), Some(*code), "list as {name}"),
        }
    }
    let d = app
        .expect_data(Some(&w.admin), LIST, json!({"h": "acme"}))
        .await;
    let ids: Vec<String> = app
        .expect_data(
            Some(&w.admin),
            "{ organization(handle: \"acme\") { invitations { nodes { id } } } }",
            json!({}),
        )
        .await["organization"]["invitations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(d["organization"]["invitations"]["totalCount"], 3);
    for (name, token, want) in [
        ("billing", &w.billing, "FORBIDDEN"),
        ("member", &w.member, "FORBIDDEN"),
        ("outsider", &w.outsider, "NOT_FOUND"),
    ] {
        for q in [RESEND, REVOKE] {
            let r = app
                .expect_data(Some(token), q, json!({"i": {"ids": [ids[0]]}}))
                .await;
            let res = r.as_object().unwrap().values().next().unwrap()["results"][0].clone();
            assert_eq!(res["error"]["code"], want, "{name}");
        }
        let node = app
            .expect_data(
                Some(token),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({"id": ids[0]}),
            )
            .await;
        assert_eq!(node["node"], Value::Null, "{name} node");
    }
    let r = app
        .expect_data(Some(&sa), REVOKE, json!({"i": {"ids": [ids[0]]}}))
        .await;
    assert_eq!(
        r["revokeInvitations"]["results"][0]["invitation"]["status"],
        "REVOKED"
    );
    let r = app
        .expect_data(Some(&w.site_admin), RESEND, json!({"i": {"ids": [ids[1]]}}))
        .await;
    assert_eq!(
        r["resendInvitations"]["results"][0]["invitation"]["sendCount"],
        2
    );
}
