//! The mail outbox: delivery through real SMTP and the file transport,
//! retries with backoff during an outage, survival across a restart, and
//! the backlog gauge on /metrics.

use orgraph::mail::{self, Kind, Mail};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::{Clock, TestApp};

async fn enqueue(app: &TestApp, to: &str, n: usize) {
    let tx = app.state.services.db.write_tx().await.unwrap();
    for i in 0..n {
        mail::enqueue(
            &*tx,
            app.clock.now(),
            Mail {
                kind: Kind::Message,
                to: to.to_string(),
                subject: format!("hello {i}"),
                text: format!("line one\n\nhttps://example.com/secret/{i}\n"),
                html: None,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    app.state.services.mail.wake();
}

async fn metric(app: &TestApp, name: &str) -> i64 {
    app.metric(name)
        .await
        .unwrap_or_else(|| panic!("{name} in /metrics")) as i64
}

/// Wait (bounded) until a metric reads `n`: the sink sees a mail before
/// the worker has recorded it as sent.
async fn metric_reaches(app: &TestApp, name: &str, n: i64) {
    for _ in 0..200 {
        if metric(app, name).await == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{name} stayed at {}", metric(app, name).await);
}

async fn backlog_reaches(app: &TestApp, n: i64) {
    metric_reaches(app, "orgraph_mail_outbox_backlog", n).await
}

#[tokio::test]
async fn smtp_delivers_each_mail_with_kind_subject_and_link_line() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    enqueue(&app, "ann@example.com", 3).await;
    let got = sink.wait_for(3).await;
    assert_eq!(got.len(), 3);
    let mut subjects: Vec<String> = got.iter().map(|m| m.subject()).collect();
    subjects.sort();
    assert_eq!(subjects, ["hello 0", "hello 1", "hello 2"]);
    for m in &got {
        assert_eq!(m.rcpt, ["ann@example.com"]);
        assert_eq!(m.to(), "ann@example.com");
        assert_eq!(m.kind(), "message");
        let link = m.line_starting("https://example.com/secret/").unwrap();
        assert!(m.subject().ends_with(link.rsplit('/').next().unwrap()));
    }
    backlog_reaches(&app, 0).await;
    metric_reaches(&app, "orgraph_mails_sent_total", 3).await;
}

#[tokio::test]
async fn file_transport_writes_one_rfc5322_file_per_mail() {
    let out = tempfile::tempdir().unwrap();
    let spec = format!("file:{}", out.path().display());
    let app = TestApp::spawn_with(|c| c.mail = spec).await;
    enqueue(&app, "bob@example.com", 2).await;
    let eml = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().map(|e| e == "eml").unwrap_or(false))
            .collect()
    };
    let mut files = Vec::new();
    for _ in 0..200 {
        files = eml(out.path());
        if files.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    files.sort();
    assert_eq!(files.len(), 2);
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains("\r\nTo: bob@example.com\r\n"), "{text}");
        assert!(text.contains("\r\nX-Orgraph-Kind: message\r\n"), "{text}");
        assert!(text.contains("Subject: hello "), "{text}");
        assert!(
            text.lines()
                .any(|l| l.trim().starts_with("https://example.com/secret/")),
            "link on a line of its own: {text}"
        );
    }
}

#[tokio::test]
async fn outage_backs_off_then_delivers_every_mail_exactly_once() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    sink.stop().await;
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    enqueue(&app, "carol@example.com", 5).await;
    // Every mail was tried and failed; they wait for their backoff.
    let mut failures = 0;
    for _ in 0..200 {
        failures = metric(&app, "orgraph_mail_failures_total").await;
        if failures >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(failures >= 5, "failures: {failures}");
    backlog_reaches(&app, 5).await;
    assert!(sink.received().is_empty());
    sink.restart().await;
    // Nothing is retried before its backoff: move the clock past it.
    app.clock.advance(chrono::Duration::minutes(31));
    app.state.services.mail.wake();
    let got = sink.wait_for(5).await;
    backlog_reaches(&app, 0).await;
    let mut subjects: Vec<String> = got.iter().map(|m| m.subject()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        ["hello 0", "hello 1", "hello 2", "hello 3", "hello 4"],
        "each mail exactly once"
    );
}

#[tokio::test]
async fn undelivered_mail_survives_a_restart() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let first = TestApp::spawn_with(|c| c.mail = url.clone()).await;
    // The server "dies" between commit and delivery: its mailer is gone
    // when the mails are committed.
    first.state.services.mail.stop().await;
    enqueue(&first, "dan@example.com", 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sink.received().is_empty());
    let db = first.state.services.config.database_url();
    // The next start delivers them without being told.
    let second = TestApp::spawn_with(|c| {
        c.mail = url;
        c.database_url = Some(db);
    })
    .await;
    let got = sink.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m.to() == "dan@example.com"));
    backlog_reaches(&second, 0).await;
}

#[tokio::test]
async fn invitations_sent_during_an_smtp_outage_all_arrive_once_and_work() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    sink.stop().await;
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    let emails: Vec<String> = (0..5).map(|i| format!("down{i}@example.com")).collect();
    let invitees: Vec<serde_json::Value> = emails
        .iter()
        .map(|e| serde_json::json!({ "email": e }))
        .collect();
    let d = app
        .expect_data(
            Some(&w.admin),
            "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { error { code } } } }",
            serde_json::json!({"i": {"organization": w.org_id, "invitees": invitees}}),
        )
        .await;
    assert!(d["inviteMembers"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["error"].is_null()));
    backlog_reaches(&app, 5).await;
    sink.restart().await;
    app.clock.advance(chrono::Duration::minutes(31));
    app.state.services.mail.wake();
    sink.wait_for(5).await;
    backlog_reaches(&app, 0).await;
    assert_eq!(sink.received().len(), 5, "no duplicates");
    for e in &emails {
        assert_eq!(sink.to(e).len(), 1, "{e} got exactly one mail");
    }
    // The delayed link still works.
    let m = sink.wait_mail("down3@example.com", "invitation", 1).await;
    let prefix = format!("{}/invitations/accept?token=", app.base);
    let token = m.line_starting(&prefix).unwrap()[prefix.len()..].to_string();
    let r = app
        .gql(
            None,
            "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { membership { role } } }",
            serde_json::json!({"i": {"token": token, "password": crate::helpers::PASSWORD}}),
        )
        .await;
    assert_eq!(
        r.expect_data()["acceptInvitation"]["membership"]["role"],
        "MEMBER"
    );
}

#[tokio::test]
async fn assigning_a_seat_mails_the_member_who_has_an_email() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    let managed = app.managed_members(&w.admin, &w.org_id, 1).await;
    let r = app
        .assign(
            &w.admin,
            &w.org_id,
            &[w.member_id.clone(), managed[0].clone()],
        )
        .await;
    assert!(r.body["errors"].is_null(), "{}", r.body);
    let m = sink
        .wait_mail("member@example.com", "seat-assigned", 1)
        .await;
    assert!(m.subject().contains("Org acme"), "{}", m.subject());
    assert!(
        m.line_starting(&app.base).is_some(),
        "the service link on a line of its own"
    );
    // Re-assigning an existing seat sends nothing new; the managed account has no address.
    app.assign(&w.admin, &w.org_id, std::slice::from_ref(&w.member_id))
        .await
        .expect_data();
    backlog_reaches(&app, 0).await;
    let seat_mails = sink
        .received()
        .iter()
        .filter(|m| m.kind() == "seat-assigned")
        .count();
    assert_eq!(seat_mails, 1);
}
