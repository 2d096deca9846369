//! messageMembers: the stored message in each member's Account.messages
//! (only for that account), a `message` mail over SMTP to each member with
//! an email, input rules, permission rows and the audit event.

use serde_json::{json, Value};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::TestApp;

const SEND: &str =
    "mutation($i: MessageMembersInput!) { messageMembers(input: $i) { recipients } }";
const INBOX: &str = "query($id: ID!) { account(id: $id) { messages { totalCount nodes { id subject body sender { id } organization { handle } } } } }";

#[tokio::test]
async fn members_read_the_message_in_app_and_by_mail() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    // A MANAGED member (no email) gets the message in app only.
    app.expect_data(
        Some(&w.admin),
        crate::helpers::CREATE_USER,
        json!({"i": {"organization": w.org_id, "firstName": "Robo"}}),
    )
    .await;
    let body = "# Maintenance\n\nThe service is down on **Sunday**.";
    let d = app
        .expect_data(
            Some(&w.admin),
            SEND,
            json!({"i": {"organization": w.org_id, "subject": "Planned maintenance", "body": body}}),
        )
        .await;
    // admin, billing, member and the managed account.
    assert_eq!(d["messageMembers"]["recipients"], 4);
    for to in [
        "admin@example.com",
        "billing@example.com",
        "member@example.com",
    ] {
        let m = sink.wait_mail(to, "message", 1).await;
        assert_eq!(m.to(), to);
        assert_eq!(m.subject(), "[Org acme] Planned maintenance");
        assert!(m.body().contains("The service is down on **Sunday**."));
    }
    let d = app
        .expect_data(Some(&w.member), INBOX, json!({"id": w.member_id}))
        .await;
    let msgs = &d["account"]["messages"];
    assert_eq!(msgs["totalCount"], 1);
    assert_eq!(msgs["nodes"][0]["subject"], "Planned maintenance");
    assert_eq!(msgs["nodes"][0]["body"], body);
    assert_eq!(msgs["nodes"][0]["sender"]["id"], w.admin_id.as_str());
    assert_eq!(msgs["nodes"][0]["organization"]["handle"], "acme");
    let msg_id = msgs["nodes"][0]["id"].as_str().unwrap().to_string();
    // Nobody else reads the member's messages, not even an admin.
    for other in [&w.admin, &w.site_admin, &w.billing] {
        let d = app
            .expect_data(Some(other), INBOX, json!({"id": w.member_id}))
            .await;
        assert_eq!(d["account"]["messages"]["totalCount"], 0);
    }
    let node = "query($id: ID!) { node(id: $id) { ... on Message { subject } } }";
    let d = app
        .expect_data(Some(&w.member), node, json!({"id": msg_id}))
        .await;
    assert_eq!(d["node"]["subject"], "Planned maintenance");
    let d = app
        .expect_data(Some(&w.outsider), node, json!({"id": msg_id}))
        .await;
    assert_eq!(d["node"], Value::Null);
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let audits = orgraph::entity::audit_event::Entity::find()
        .filter(orgraph::entity::audit_event::Column::Action.eq("message.send"))
        .count(&app.state.services.db.conn)
        .await
        .unwrap();
    assert_eq!(audits, 1);
}

#[tokio::test]
async fn input_rules_and_permission_rows() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let send = |token: String, subject: String, body: String| {
        let app = &app;
        let org = w.org_id.clone();
        async move {
            app.gql(
                Some(&token),
                SEND,
                json!({"i": {"organization": org, "subject": subject, "body": body}}),
            )
            .await
        }
    };
    let bad = [
        ("", "body", "subject"),
        (&"s".repeat(201) as &str, "body", "subject"),
        ("subject", "", "body"),
        ("subject", &"b".repeat(65_537) as &str, "body"),
    ];
    for (subject, body, field) in bad {
        let r = send(w.admin.clone(), subject.into(), body.into()).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"));
        assert_eq!(r.body["errors"][0]["extensions"]["field"], json!([field]));
    }
    let r = send(w.admin.clone(), "s".repeat(200), "b".repeat(65_536)).await;
    assert_eq!(r.expect_data()["messageMembers"]["recipients"], 3);
    let (_, client_id, secret) = app.service_account(&w.admin, &w.org_id, "bot").await;
    let sa = app.sa_token(&client_id, &secret).await;
    for (name, token, want) in [
        ("site admin", &w.site_admin, None),
        ("service account", &sa, None),
        ("billing", &w.billing, Some("FORBIDDEN")),
        ("member", &w.member, Some("FORBIDDEN")),
        ("outsider", &w.outsider, Some("NOT_FOUND")),
    ] {
        let r = send(token.clone(), "hi".into(), "there".into()).await;
        assert_eq!(r.code(), want, "{name}: {}", r.body);
    }
    let r = app
        .gql(
            None,
            SEND,
            json!({"i": {"organization": w.org_id, "subject": "a", "body": "b"}}),
        )
        .await;
    assert_eq!(r.code(), Some("UNAUTHENTICATED"));
}
