//! The real binary: migrate, create-admin, serve, sign in, graceful
//! shutdown on SIGTERM, and no secret in a trace-level log: passwords,
//! JWTs (HTTP bearer and websocket connection_init), orgt_ secrets, client
//! secrets, sign-in links (GET /signin/<token>) and invitation tokens, with
//! mail delivered over SMTP.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn orgraph() -> Command {
    Command::new(env!("CARGO_BIN_EXE_orgraph"))
}

#[tokio::test]
async fn create_admin_serve_sign_in_and_stop_on_sigterm_with_no_secret_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (db_url, _pg) = crate::helpers::process_database(dir.path()).await;
    let password = "a secret passphrase 7f3a";
    let sink = crate::helpers::smtp::SmtpSink::start().await;
    let mail_url = sink.url();
    let env = |c: &mut Command| {
        c.env("ORGRAPH_DATA_DIR", dir.path())
            .env("DATABASE_URL", &db_url)
            .env("ORGRAPH_MAIL", &mail_url)
            .env("RUST_LOG", "trace")
            .env("ORGRAPH_LOG_FORMAT", "json");
    };

    let mut c = orgraph();
    env(&mut c);
    assert!(c.arg("migrate").status().unwrap().success());
    let mut c = orgraph();
    env(&mut c);
    let out = c
        .args(["create-admin", "--email", "Admin@Example.com"])
        .env("ORGRAPH_ADMIN_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut log = String::from_utf8_lossy(&out.stderr).to_string();

    let port = crate::helpers::process::free_port();
    let log_path = dir.path().join("serve.log");
    let mut c = orgraph();
    env(&mut c);
    let mut child = c
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // GraphiQL is served at /.
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("graphiql") && page.contains("/graphql/ws"));

    let jwt =
        crate::helpers::process::password_token(&http, &base, "admin@example.com", password).await;
    let gql = |q: &str, v: Value| {
        http.post(format!("{base}/graphql"))
            .bearer_auth(&jwt)
            .json(&json!({"query": q, "variables": v}))
            .send()
    };
    let d: Value = gql(
        crate::helpers::CREATE_ORG,
        json!({"i": {"handle": "acme", "name": "Acme"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let org = d["data"]["createOrganization"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let member_pw = "member password 99x";
    let d: Value = gql(
        crate::helpers::CREATE_USER,
        json!({"i": {"organization": org, "email": "m@example.com", "password": member_pw}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let member = d["data"]["createUser"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    gql(
        crate::helpers::ASSIGN,
        json!({"i": {"organization": org, "accounts": [member]}}),
    )
    .await
    .unwrap();
    let d: Value = gql(
        crate::helpers::ISSUE,
        json!({"i": {"organization": org, "account": member}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = d["data"]["issueAccessToken"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let d: Value = gql(
        crate::helpers::CREATE_SA,
        json!({"i": {"organization": org, "name": "bot"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let client_secret = d["data"]["createServiceAccount"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();
    let d_sa_client_id = d["data"]["createServiceAccount"]["serviceAccount"]["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let d: Value = gql(
        "mutation($a: ID!) { createSignInToken(input: {account: $a}) { token } }",
        json!({"a": member}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let signin = d["data"]["createSignInToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Fail a sign-in with a wrong password, too.
    http.post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "m@example.com"),
            ("password", "wrong password zz"),
        ])
        .send()
        .await
        .unwrap();

    // The sign-in link, followed: its token is in the path.
    let r = http
        .get(format!("{base}/signin/{signin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let link_jwt = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // A websocket whose connection_init carries the bearer JWT.
    {
        let mut ws = crate::helpers::ws::Client::ready(&base, false, &jwt).await;
        ws.subscribe(
            "1",
            "subscription($o: ID!) { seatChanges(organization: $o) { kind } }",
            json!({"o": org}),
        )
        .await;
        let _ = ws.recv(1).await;
    }
    // The client secret in HTTP Basic (introspection) and in a form body
    // (client-credentials grant), and the service account's JWT.
    let client_id = d_sa_client_id.clone();
    let r = http
        .post(format!("{base}/oauth/introspect"))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["active"], true);
    let r = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let sa_jwt = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // Onboarding mails an orgt_ secret; an invitation mails its token.
    let d: Value = gql(
        "mutation($i: OnboardUsersInput!) { onboardUsers(input: $i) { results { error { code } } } }",
        json!({"i": {"organization": org, "users": [{"email": "new@example.com", "firstName": "New"}]}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        d["data"]["onboardUsers"]["results"][0]["error"].is_null(),
        "{d}"
    );
    let d: Value = gql(
        "mutation($i: InviteMembersInput!) { inviteMembers(input: $i) { results { error { code } } } }",
        json!({"i": {"organization": org, "invitees": [{"email": "guest@example.com"}]}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        d["data"]["inviteMembers"]["results"][0]["error"].is_null(),
        "{d}"
    );
    let token_mail = sink.wait_mail("new@example.com", "access-token", 1).await;
    let mailed_orgt = token_mail
        .body()
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("orgt_"))
        .expect("the mailed token")
        .to_string();
    let invite_mail = sink.wait_mail("guest@example.com", "invitation", 1).await;
    let invitation = invite_mail
        .body()
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once("accept?token=")
                .map(|(_, t)| t.to_string())
        })
        .expect("the accept link");
    // Redeem the invitation too (the token in a GraphQL variable).
    let r: Value = http
        .post(format!("{base}/graphql"))
        .json(&json!({"query": "mutation($t: String!) { declineInvitation(input: {token: $t}) { invitation { status } } }", "variables": {"t": invitation}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        r["data"]["declineInvitation"]["invitation"]["status"], "DECLINED",
        "{r}"
    );

    // SIGTERM: drains and exits 0.
    crate::helpers::process::sigterm(&child);
    let status = crate::helpers::process::wait_exit(&mut child, Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
    log.push_str(&std::fs::read_to_string(&log_path).unwrap());
    assert!(
        log.contains("shut down cleanly"),
        "graceful shutdown not logged"
    );
    assert!(
        log.contains("orgraph::sql"),
        "the trace log must include SQL for this check to mean anything"
    );
    assert!(
        log.contains("/signin/***") && log.contains("/graphql/ws"),
        "the sign-in link and the websocket must be in the log (masked) for this check to mean anything"
    );
    for (what, secret) in [
        ("admin password", password),
        ("member password", member_pw),
        ("wrong password", "wrong password zz"),
        ("issued orgt_ secret", &access),
        ("mailed orgt_ secret", &mailed_orgt),
        ("client secret", &client_secret),
        ("sign-in token", &signin),
        ("invitation token", &invitation),
        ("admin JWT", &jwt),
        ("sign-in link JWT", &link_jwt),
        ("service account JWT", &sa_jwt),
    ] {
        assert!(!log.contains(secret), "the {what} reached the log");
    }
}
