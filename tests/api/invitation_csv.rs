//! inviteMembers with a CSV upload through the GraphQL multipart request:
//! limits refused before any row is processed, per-row results with the
//! row in `field`, and a full 1,000-row upload delivered over SMTP.

use serde_json::{json, Value};

use crate::helpers::smtp::SmtpSink;
use crate::helpers::TestApp;

const INVITE_CSV: &str = "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { email invitation { id role } error { code field } } } }";
const COUNT: &str = "{ organization(handle: \"acme\") { invitations { totalCount } } }";

async fn upload(app: &TestApp, token: &str, org: &str, csv: Vec<u8>) -> (u16, Value) {
    let ops = json!({"query": INVITE_CSV, "variables": {"i": {"organization": org, "csv": null}}});
    let form = reqwest::multipart::Form::new()
        .text("operations", ops.to_string())
        .text("map", json!({"0": ["variables.i.csv"]}).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(csv)
                .file_name("people.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("Apollo-Require-Preflight", "true")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn invitations(app: &TestApp, token: &str) -> i64 {
    app.expect_data(Some(token), COUNT, json!({})).await["organization"]["invitations"]
        ["totalCount"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_thousand_rows_are_invited_and_mailed() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = TestApp::spawn_with(|c| c.mail = url).await;
    let w = app.world().await;
    let mut csv = String::from("email,role\n");
    for i in 0..1000 {
        csv.push_str(&format!(
            "user{i}@example.com,{}\n",
            if i % 10 == 0 { "admin" } else { "" }
        ));
    }
    let started = std::time::Instant::now();
    let (status, body) = upload(&app, &w.admin, &w.org_id, csv.into_bytes()).await;
    eprintln!("1,000-row upload answered in {:?}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    let results = body["data"]["inviteMembers"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|r| r["error"].is_null()), "{body}");
    assert_eq!(results[0]["invitation"]["role"], "ADMIN");
    assert_eq!(results[1]["invitation"]["role"], "MEMBER");
    assert_eq!(invitations(&app, &w.admin).await, 1000);
    let got = sink.wait_for(1000).await;
    eprintln!(
        "1,000 mails delivered over SMTP after {:?}",
        started.elapsed()
    );
    assert_eq!(got.len(), 1000);
    let last = sink.wait_mail("user999@example.com", "invitation", 1).await;
    assert!(last
        .line_starting(&format!("{}/invitations/accept?token=", app.base))
        .is_some());
}

#[tokio::test]
async fn bad_rows_are_reported_per_row_with_the_line_number() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let csv = "Email,Role\n\
               ok@example.com,member\n\
               not-an-email\n\
               \n\
               dup@example.com\n\
               DUP@example.com,admin\n\
               boss@example.com,overlord\n\
               member@example.com\n";
    let (status, body) = upload(&app, &w.admin, &w.org_id, csv.as_bytes().to_vec()).await;
    assert_eq!(status, 200);
    let r = body["data"]["inviteMembers"]["results"].as_array().unwrap();
    // The blank line (line 4) and the header produce no result.
    assert_eq!(r.len(), 6, "{body}");
    assert_eq!(r[0]["invitation"]["role"], "MEMBER");
    assert_eq!(r[1]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(r[1]["error"]["field"], json!(["csv", "3", "email"]));
    assert!(r[2]["invitation"].is_object());
    assert_eq!(r[3]["error"]["code"], "ALREADY_EXISTS");
    assert_eq!(r[4]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(r[4]["error"]["field"], json!(["csv", "7", "role"]));
    assert_eq!(r[5]["error"]["code"], "ALREADY_EXISTS");
    assert_eq!(r[5]["email"], "member@example.com");
    assert_eq!(invitations(&app, &w.admin).await, 2);
}

#[tokio::test]
async fn too_many_rows_or_bytes_are_refused_before_any_row() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let many: String = (0..1001).map(|i| format!("u{i}@example.com\n")).collect();
    let (_, body) = upload(&app, &w.admin, &w.org_id, many.into_bytes()).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert_eq!(invitations(&app, &w.admin).await, 0);
    // 2 MiB: valid rows, far over the size limit.
    let mut big = String::new();
    let mut i = 0;
    while big.len() < 2 * 1024 * 1024 {
        big.push_str(&format!("someone.with.a.long.name.{i}@example.com\n"));
        i += 1;
    }
    let (status, body) = upload(&app, &w.admin, &w.org_id, big.into_bytes()).await;
    assert_eq!(status, 413);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert_eq!(invitations(&app, &w.admin).await, 0);
}
