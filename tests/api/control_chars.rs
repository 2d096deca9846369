//! Control characters in names (security review, finding 4): every
//! single-line name field refuses Unicode Cc characters and the line and
//! paragraph separators with BAD_USER_INPUT and `field` set; message bodies
//! and descriptions keep tabs and line breaks but no other control
//! character; names also refuse the bidirectional override and isolate
//! controls. All through the public API.

use serde_json::{json, Value};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::{TestApp, World, CREATE_ORG, CREATE_SA, CREATE_USER, ISSUE, PASSWORD};

/// Each one is refused in a single-line field.
const BAD_LINES: &[&str] = &[
    "Acme\r\nBcc: victim@example.com",
    "Acme\nInc",
    "Acme\rInc",
    "Acme\tInc",
    "Acme\u{7}",
    "Acme\u{1b}[31m",
    "Acme\u{7f}",
    "Acme\u{85}Inc",
    "Acme\u{2028}Inc",
    "Acme\u{2029}Inc",
    // Bidirectional overrides and isolates (red team): "Acme" shown reversed.
    "Acme\u{202E}cni",
    "Acme\u{2067}Inc\u{2069}",
];

/// Each one is refused in a multi-line field.
const BAD_TEXTS: &[&str] = &["body\u{7}", "body\u{1b}[2J", "body\u{7f}", "body\u{85}more"];

fn refused(what: &str, r: &crate::helpers::Resp, field: &[&str]) {
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{what}: {}", r.body);
    assert_eq!(
        r.body["errors"][0]["extensions"]["field"],
        json!(field),
        "{what}: {}",
        r.body
    );
}

fn refused_item(what: &str, item: &Value, field: &[&str]) {
    assert_eq!(item["error"]["code"], "BAD_USER_INPUT", "{what}: {item}");
    assert_eq!(item["error"]["field"], json!(field), "{what}: {item}");
}

#[tokio::test]
async fn organization_names_and_descriptions() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for (i, bad) in BAD_LINES.iter().enumerate() {
        let r = app
            .gql(
                Some(&w.admin),
                CREATE_ORG,
                json!({"i": {"handle": format!("bad-{i}"), "name": bad}}),
            )
            .await;
        refused(&format!("createOrganization name {bad:?}"), &r, &["name"]);
        let r = app
            .gql(
                Some(&w.admin),
                "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { name } } }",
                json!({"i": {"organization": w.org_id, "name": bad}}),
            )
            .await;
        refused(&format!("updateOrganization name {bad:?}"), &r, &["name"]);
        let r = set_plan_named(&app, &w.site_admin, &w.org_id, bad).await;
        refused(&format!("setPlan name {bad:?}"), &r, &["name"]);
    }
    // A description is multi-line text.
    let d = app
        .expect_data(
            Some(&w.admin),
            "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { description } } }",
            json!({"i": {"organization": w.org_id, "description": "line one\nline two\tend"}}),
        )
        .await;
    assert_eq!(
        d["updateOrganization"]["organization"]["description"],
        "line one\nline two\tend"
    );
    for bad in BAD_TEXTS {
        let r = app
            .gql(
                Some(&w.admin),
                "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { description } } }",
                json!({"i": {"organization": w.org_id, "description": bad}}),
            )
            .await;
        refused(&format!("description {bad:?}"), &r, &["description"]);
    }
    // Ordinary Unicode names still pass.
    app.expect_data(
        Some(&w.admin),
        CREATE_ORG,
        json!({"i": {"handle": "zoe", "name": "Zoë Ångström & Søn — Café"}}),
    )
    .await;
}

async fn set_plan_named(
    app: &TestApp,
    site_admin: &str,
    org: &str,
    name: &str,
) -> crate::helpers::Resp {
    app.gql(
        Some(site_admin),
        crate::helpers::SET_PLAN,
        json!({"i": {"organization": org, "name": name, "seatLimit": 5, "startsOn": "2026-01-01"}}),
    )
    .await
}

#[tokio::test]
async fn user_names_in_create_user_onboarding_and_accepting_an_invitation() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w: World = app.world().await;
    for bad in BAD_LINES {
        for field in ["firstName", "lastName"] {
            let r = app
                .gql(
                    Some(&w.admin),
                    CREATE_USER,
                    json!({"i": {"organization": w.org_id, field: bad}}),
                )
                .await;
            refused(&format!("createUser {field} {bad:?}"), &r, &[field]);
            let d = app
                .expect_data(
                    Some(&w.admin),
                    "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { email error { code field } } } }",
                    json!({"i": {"organization": w.org_id, "users": [
                        {"email": "fine@example.com", "firstName": "Fine"},
                        {"email": "evil@example.com", field: bad},
                    ]}}),
                )
                .await;
            let results = &d["onboardUsers"]["results"];
            refused_item(
                &format!("onboardUsers {field} {bad:?}"),
                &results[1],
                &["users", "1", field],
            );
        }
    }
    // An invitation accepted by a new (anonymous) account names it.
    app.expect_data(
        Some(&w.admin),
        "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { error { code } } } }",
        json!({"i": {"organization": w.org_id, "invitees": [{"email": "new@example.com"}]}}),
    )
    .await;
    let m = sink.wait_mail("new@example.com", "invitation", 1).await;
    let prefix = format!("{}/invitations/accept?token=", app.base);
    let token = m.line_starting(&prefix).expect("accept link")[prefix.len()..].to_string();
    const ACCEPT: &str = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { account { firstName } } } }";
    for field in ["firstName", "lastName"] {
        let r = app
            .gql(
                None,
                ACCEPT,
                json!({"i": {"token": token, "password": PASSWORD, field: "New\r\nX-Evil: 1"}}),
            )
            .await;
        refused(&format!("acceptInvitation {field}"), &r, &[field]);
    }
    // The invitation is still usable with a clean name.
    app.expect_data(
        None,
        ACCEPT,
        json!({"i": {"token": token, "password": PASSWORD, "firstName": "New"}}),
    )
    .await;
}

#[tokio::test]
async fn service_account_token_and_message_fields() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    for bad in BAD_LINES {
        let r = app
            .gql(
                Some(&w.admin),
                CREATE_SA,
                json!({"i": {"organization": w.org_id, "name": bad}}),
            )
            .await;
        refused(&format!("createServiceAccount {bad:?}"), &r, &["name"]);
    }
    // Access token names.
    let (_, me) = (w.admin.clone(), w.admin_id.clone());
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&me))
        .await;
    for bad in BAD_LINES {
        let r = app
            .gql(
                Some(&w.admin),
                ISSUE,
                json!({"i": {"organization": w.org_id, "name": bad}}),
            )
            .await;
        refused(&format!("issueAccessToken name {bad:?}"), &r, &["name"]);
    }
    // messageMembers: the subject is one line; the body keeps line breaks
    // and tabs only.
    const SEND: &str =
        "mutation($i: MessageMembersInput!) { messageMembers(input: $i) { recipients } }";
    for bad in BAD_LINES {
        let r = app
            .gql(
                Some(&w.admin),
                SEND,
                json!({"i": {"organization": w.org_id, "subject": bad, "body": "hello"}}),
            )
            .await;
        refused(&format!("messageMembers subject {bad:?}"), &r, &["subject"]);
    }
    for bad in BAD_TEXTS {
        let r = app
            .gql(
                Some(&w.admin),
                SEND,
                json!({"i": {"organization": w.org_id, "subject": "hi", "body": bad}}),
            )
            .await;
        refused(&format!("messageMembers body {bad:?}"), &r, &["body"]);
    }
    app.expect_data(
        Some(&w.admin),
        SEND,
        json!({"i": {"organization": w.org_id, "subject": "hi", "body": "line one\r\n\tline two\n"}}),
    )
    .await;
}

#[tokio::test]
async fn csv_invitations_refuse_control_characters_per_row() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let csv = "email,role\nok@example.com,MEMBER\nev\u{7}il@example.com,MEMBER\n\"a@example.com\u{1b}\",MEMBER\nb@example.com,ADMIN\u{7}\n";
    let op = json!({
        "query": "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { email error { code field } } } }",
        "variables": {"i": {"organization": w.org_id, "csv": null}}
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", op.to_string())
        .text("map", json!({"0": ["variables.i.csv"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                .file_name("invitees.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(&w.admin)
        .header("apollo-require-preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    let results = body["data"]["inviteMembers"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(results.len(), 4, "{body}");
    assert!(results[0]["error"].is_null(), "{body}");
    for r in &results[1..] {
        assert_eq!(r["error"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(r["error"]["field"][0], "csv", "{body}");
    }
}

/// A name stored before the rule (or by hand) cannot add a header to a
/// mail, and the subject is flattened to one line when the mail is
/// written (lettre alone would RFC 2047-encode the CR LF into the subject,
/// so the decoded subject would still break the line).
#[tokio::test]
async fn a_stored_name_with_a_line_break_cannot_inject_a_mail_header() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    orgraph::entity::organization::Entity::update_many()
        .col_expr(
            orgraph::entity::organization::Column::Name,
            Expr::value("Acme\r\nBcc: evil@example.com"),
        )
        .filter(orgraph::entity::organization::Column::Handle.eq("acme"))
        .exec(&app.state.services.db.conn)
        .await
        .unwrap();
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await;
    let m = sink
        .wait_mail("member@example.com", "seat-assigned", 1)
        .await;
    assert_eq!(m.rcpt, ["member@example.com"]);
    assert!(m.header("Bcc").is_none(), "a header was injected");
    assert!(!m.subject().contains('\n') && !m.subject().contains('\r'));
    assert!(m.subject().contains("Acme"), "{}", m.subject());
}
