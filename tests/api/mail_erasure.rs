//! Security review, finding 2: a mail's secrets (the `orgt_` access token
//! of onboarding, the invitation token of the accept link) exist in clear
//! only until the mail is delivered or abandoned. Afterwards no table and
//! no text column holds them, and on SQLite the database file does not
//! either.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::json;

use crate::helpers::smtp::SmtpSink;
use crate::helpers::{TestApp, World};

const ONBOARD: &str = "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { email error { code } } } }";
const INVITE: &str = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { email error { code } } } }";

/// Rows (over every table) in which some column's text contains `needle`.
async fn rows_containing(app: &TestApp, needle: &str) -> Vec<String> {
    let db = &app.state.services.db.conn;
    let backend = db.get_database_backend();
    let mut hits = Vec::new();
    let columns: Vec<(String, String)> = match backend {
        DatabaseBackend::Postgres => db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema()",
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap()))
            .collect(),
        _ => db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
            ))
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.try_get_by_index(0).unwrap(), r.try_get_by_index(1).unwrap()))
            .collect(),
    };
    assert!(
        columns
            .iter()
            .any(|(t, c)| t == "mail_outbox" && c == "body_text"),
        "the dump must see the outbox: {columns:?}"
    );
    for (table, column) in columns {
        let sql = match backend {
            DatabaseBackend::Postgres => {
                format!("SELECT count(*) FROM \"{table}\" WHERE strpos(\"{column}\"::text, $1) > 0")
            }
            _ => format!(
                "SELECT count(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS TEXT), ?) > 0"
            ),
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [needle.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get_by_index(0).unwrap();
        if n > 0 {
            hits.push(format!("{table}.{column}"));
        }
    }
    hits
}

/// On SQLite: the database file (after a checkpoint, so the WAL is folded
/// in and emptied) holds none of the secrets.
async fn sqlite_file_is_clean(app: &TestApp, secrets: &[String]) {
    let db = &app.state.services.db.conn;
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return;
    }
    db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();
    for file in ["orgraph.db", "orgraph.db-wal"] {
        let path = app.dir.path().join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for s in secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{file} still holds a mailed secret"
            );
        }
    }
}

/// The `orgt_` secret on a line of its own in an access-token mail.
fn orgt_in(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("orgt_"))
        .map(str::to_string)
}

fn accept_token_in(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.trim()
            .split_once("/invitations/accept?token=")
            .map(|(_, t)| t.to_string())
    })
}

async fn mail_secret_producing_calls(app: &TestApp, w: &World) {
    app.expect_data(
        Some(&w.admin),
        ONBOARD,
        json!({"i": {"organization": w.org_id, "users": [{"email": "new@example.com", "firstName": "New"}]}}),
    )
    .await;
    app.expect_data(
        Some(&w.admin),
        INVITE,
        json!({"i": {"organization": w.org_id, "invitees": [{"email": "guest@example.com"}]}}),
    )
    .await;
}

async fn outbox_count(app: &TestApp, filter: &str) -> i64 {
    let db = &app.state.services.db.conn;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT count(*) FROM mail_outbox WHERE {filter}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn wait_outbox(app: &TestApp, filter: &str, n: i64) {
    for _ in 0..200 {
        if outbox_count(app, filter).await == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "mail_outbox rows with {filter}: {} (want {n})",
        outbox_count(app, filter).await
    );
}

#[tokio::test]
async fn delivered_mail_keeps_no_secret() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    mail_secret_producing_calls(&app, &w).await;
    let token_mail = sink.wait_mail("new@example.com", "access-token", 1).await;
    let invite_mail = sink.wait_mail("guest@example.com", "invitation", 1).await;
    let orgt = orgt_in(&token_mail.body()).expect("the token on a line of its own");
    let invitation = accept_token_in(&invite_mail.body()).expect("the accept link");
    // Every mail of the test is marked sent.
    wait_outbox(&app, "sent_at IS NULL", 0).await;
    let secrets = [orgt.clone(), invitation.clone()];
    for s in &secrets {
        let hits = rows_containing(&app, s).await;
        assert!(
            hits.is_empty(),
            "a delivered mail's secret is still in {hits:?}"
        );
    }
    sqlite_file_is_clean(&app, &secrets).await;
    // The row itself stays, for the operator: who, what, when.
    assert!(outbox_count(&app, "kind = 'access-token' AND to_address = 'new@example.com' AND body_html IS NULL AND body_text = ''").await == 1);
    // And the secrets still work: they were only erased from the outbox.
    let r = app
        .gql(
            None,
            "query($t: String!) { invitation(token: $t) { email } }",
            json!({"t": invitation}),
        )
        .await;
    assert_eq!(r.expect_data()["invitation"]["email"], "guest@example.com");
}

#[tokio::test]
async fn abandoned_mail_keeps_no_secret() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    sink.stop().await;
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    mail_secret_producing_calls(&app, &w).await;
    // Undelivered: the secrets are in the outbox (this is also what shows
    // the dump would find them).
    let pending = |kind: &'static str, to: &'static str| {
        let app = &app;
        async move {
            let db = &app.state.services.db.conn;
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT body_text FROM mail_outbox WHERE kind = '{kind}' AND to_address = '{to}'"),
                ))
                .await
                .unwrap()
                .expect("the mail is in the outbox");
            row.try_get_by_index::<String>(0).unwrap()
        }
    };
    let orgt = orgt_in(&pending("access-token", "new@example.com").await).unwrap();
    let invitation = accept_token_in(&pending("invitation", "guest@example.com").await).unwrap();
    let secrets = [orgt, invitation];
    for s in &secrets {
        assert!(
            rows_containing(&app, s).await == ["mail_outbox.body_text"],
            "while pending, the secret is in the outbox body only"
        );
    }
    let total = outbox_count(&app, "1 = 1").await;
    // Let every attempt fail until the worker gives up on every mail.
    for _ in 0..(orgraph::mail::worker::MAX_ATTEMPTS + 2) {
        app.clock.advance(chrono::Duration::minutes(31));
        app.state.services.mail.wake();
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        if outbox_count(&app, "failed_at IS NOT NULL").await == total {
            break;
        }
    }
    wait_outbox(&app, "failed_at IS NOT NULL", total).await;
    for s in &secrets {
        let hits = rows_containing(&app, s).await;
        assert!(
            hits.is_empty(),
            "an abandoned mail's secret is still in {hits:?}"
        );
    }
    sqlite_file_is_clean(&app, &secrets).await;
}

/// Rows delivered (or abandoned) before the worker erased bodies are
/// erased by migration m20261203_000002; pending rows keep theirs.
#[tokio::test]
async fn the_migration_erases_bodies_of_mail_sent_before_the_fix() {
    use migration::MigratorTrait;
    use orgraph::entity::mail_outbox;
    use sea_orm::EntityTrait;
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let row = |body: &str, sent: bool, failed: bool| mail_outbox::Model {
        id: uuid::Uuid::now_v7(),
        kind: orgraph::entity::enums::MailKind::AccessToken,
        to_address: "old@example.com".into(),
        subject: "Your access token".into(),
        body_text: body.into(),
        body_html: Some(format!("<p>{body}</p>")),
        created_at: now,
        attempts: 1,
        // Far ahead, so the running worker leaves the pending row alone.
        next_attempt_at: now + chrono::Duration::days(365),
        sent_at: sent.then_some(now),
        failed_at: failed.then_some(now),
        last_error: None,
    };
    for r in [
        row("orgt_oldsentsecret", true, false),
        row("orgt_oldfailedsecret", false, true),
        row("orgt_stillpending", false, false),
    ] {
        mail_outbox::Entity::insert(mail_outbox::ActiveModel::from(r))
            .exec_without_returning(&app.state.services.db.conn)
            .await
            .unwrap();
    }
    // Re-run m20261203_000002 (and the one after it) as an upgrade would.
    let after: u32 = migration::Migrator::migrations()
        .iter()
        .rev()
        .take_while(|m| m.name() != "m20261203_000002_erase_sent_mail_bodies")
        .count() as u32;
    migration::Migrator::down(&app.state.services.db.conn, Some(after + 1))
        .await
        .unwrap();
    migration::Migrator::up(&app.state.services.db.conn, None)
        .await
        .unwrap();
    assert!(rows_containing(&app, "orgt_oldsentsecret").await.is_empty());
    assert!(rows_containing(&app, "orgt_oldfailedsecret")
        .await
        .is_empty());
    let mut pending = rows_containing(&app, "orgt_stillpending").await;
    pending.sort();
    assert_eq!(pending, ["mail_outbox.body_html", "mail_outbox.body_text"]);
}
