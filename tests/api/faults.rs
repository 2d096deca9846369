//! Faults: a hard kill during a burst of writes, and the database going away
//! and coming back.

use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};

use crate::helpers::*;

fn spawn_server(db_url: &str, dir: &std::path::Path, port: u16) -> Child {
    let mut c = process::orgraph(db_url, dir);
    c.env("ORGRAPH_RATE_LIMIT_GRAPHQL", "0")
        .stderr(Stdio::null());
    process::serve(c, port)
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hard_kill_during_writes_leaves_every_committed_change_with_its_audit_event() {
    let dir = tempfile::tempdir().unwrap();
    let pg = match postgres_server() {
        Some(s) => Some(PgDatabase::create(&s).await),
        None => None,
    };
    let db_url = pg.as_ref().map(|p| p.url()).unwrap_or(format!(
        "sqlite://{}/orgraph.db?mode=rwc",
        dir.path().display()
    ));
    process::create_admin(&db_url, dir.path(), "root@example.com");
    let port = process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn_server(&db_url, dir.path(), port);
    process::wait_ready(&base).await;
    let http = reqwest::Client::new();
    let jwt = Arc::new(process::password_token(&http, &base, "root@example.com", PASSWORD).await);
    let gql = {
        let (http, base) = (http.clone(), base.clone());
        move |jwt: Arc<String>, q: String, v: Value| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                http.post(format!("{base}/graphql"))
                    .bearer_auth(&*jwt)
                    .json(&json!({"query": q, "variables": v}))
                    .send()
                    .await
                    .ok()?
                    .json::<Value>()
                    .await
                    .ok()
            }
        }
    };
    let d = gql(
        jwt.clone(),
        CREATE_ORG.into(),
        json!({"i": {"handle": "acme", "name": "Acme"}}),
    )
    .await
    .unwrap();
    let org = d["data"]["createOrganization"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    gql(jwt.clone(), SET_PLAN.into(), json!({"i": {"organization": org, "name": "team", "seatLimit": 15, "startsOn": "2026-01-01"}})).await.unwrap();

    // 16 writers: create a user, seat them, issue a token — until the kill.
    let mut writers = Vec::new();
    for _ in 0..16 {
        let (gql, jwt, org) = (gql.clone(), jwt.clone(), org.clone());
        writers.push(tokio::spawn(async move {
            loop {
                let Some(d) = gql(
                    jwt.clone(),
                    CREATE_USER.into(),
                    json!({"i": {"organization": org}}),
                )
                .await
                else {
                    break;
                };
                let Some(acc) = d["data"]["createUser"]["account"]["id"]
                    .as_str()
                    .map(str::to_string)
                else {
                    break;
                };
                if gql(
                    jwt.clone(),
                    ASSIGN.into(),
                    json!({"i": {"organization": org, "accounts": [acc]}}),
                )
                .await
                .is_none()
                {
                    break;
                }
                if gql(
                    jwt.clone(),
                    ISSUE.into(),
                    json!({"i": {"organization": org, "account": acc}}),
                )
                .await
                .is_none()
                {
                    break;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    // Restart: the database opens, migrations are a no-op, service resumes.
    let mut server = spawn_server(&db_url, dir.path(), port);
    process::wait_ready(&base).await;
    let _ = server.kill();
    let _ = server.wait();

    let db = Database::connect(&db_url).await.unwrap();
    let members = count(&db, "SELECT count(*) FROM memberships").await;
    let accounts = count(&db, "SELECT count(*) FROM accounts").await;
    let seats = count(&db, "SELECT count(*) FROM seats").await;
    let tokens = count(&db, "SELECT count(*) FROM access_tokens").await;
    assert!(members > 5, "the burst wrote something ({members} members)");
    assert_eq!(
        members,
        count(
            &db,
            "SELECT count(*) FROM audit_events WHERE action = 'member.add'"
        )
        .await
    );
    assert_eq!(
        accounts - 1,
        count(
            &db,
            "SELECT count(*) FROM audit_events WHERE action = 'account.create'"
        )
        .await
    );
    assert_eq!(
        seats,
        count(
            &db,
            "SELECT count(*) FROM audit_events WHERE action = 'seat.assign'"
        )
        .await
    );
    assert_eq!(
        tokens,
        count(
            &db,
            "SELECT count(*) FROM audit_events WHERE action = 'token.issue'"
        )
        .await
    );
    assert!(seats <= 15, "seat limit held: {seats}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM memberships WHERE role = 'ADMIN'").await,
        1
    );
    let orphans = count(&db, "SELECT count(*) FROM access_tokens t WHERE t.revoked_at IS NULL AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.organization_id = t.organization_id AND s.account_id = t.account_id)").await;
    assert_eq!(orphans, 0, "no active token without a seat");
    drop(pg);
}

/// A TCP forwarder to PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(port: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    break;
                };
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy {
            port,
            task: Some(task),
        }
    }

    /// Refuse new connections and cut the open ones (the JoinSet drops).
    fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_going_away_fails_fast_and_service_resumes_without_a_restart() {
    if postgres_server().is_none() {
        eprintln!("PostgreSQL only: SQLite is embedded and cannot go away");
        return;
    }
    // A port it can have back after the cut: see process::free_port.
    let mut proxy = Proxy::start(process::free_port()).await;
    let port = proxy.port;
    let app = TestApp::spawn_with(|c| {
        let url = c.database_url.clone().unwrap();
        c.database_url = Some(url.replace("127.0.0.1:5432", &format!("127.0.0.1:{port}")));
    })
    .await;
    assert!(app
        .state
        .services
        .config
        .database_url()
        .contains(&port.to_string()));
    let (root, _) = app.site_admin("root@example.com").await;
    app.create_org(&root, "acme").await;

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let started = Instant::now();
    let r = app
        .gql(
            Some(&root),
            CREATE_ORG,
            json!({"i": {"handle": "during", "name": "x"}}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed fast ({:?})",
        started.elapsed()
    );
    assert!(r.status >= 400, "{}", r.body);
    assert_eq!(r.code(), Some("INTERNAL"));
    assert!(r.body["errors"][0]["extensions"]["requestId"].is_string() || r.status == 500);

    let _proxy = Proxy::start(port).await;
    let t = Instant::now();
    while app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "service did not resume"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let root = app.sign_in("root@example.com", PASSWORD).await;
    let d = app
        .expect_data(
            Some(&root),
            "{ organizations(first: 10, all: true) { nodes { handle } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["organizations"]["nodes"],
        json!([{"handle": "acme"}]),
        "nothing half-written during the outage"
    );
}
