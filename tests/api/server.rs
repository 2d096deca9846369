//! The server as a whole: schema file, operational endpoints, errors and
//! the GraphQL-over-HTTP transport rules.

use serde_json::{json, Value};

use crate::helpers::*;

#[test]
fn schema_graphql_is_what_print_schema_prints() {
    let on_disk = include_str!("../../schema.graphql");
    assert!(
        on_disk == orgraph::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- print-schema > schema.graphql`"
    );
}

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = TestApp::spawn().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.gql(None, "{ __typename }", json!({})).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "orgraph_db_queries_total",
        "orgraph_graphql_requests_total",
        "orgraph_http_request_duration_seconds_bucket",
        "orgraph_ws_subscribers",
        "orgraph_mail_outbox_backlog",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    // A client's request id is kept and echoed.
    let res = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

/// The first error is INTERNAL with this response's request id, says only
/// "internal error", and the body names none of `leaks`. Returns the id.
async fn assert_internal_without_leaks(
    app: &TestApp,
    token: &str,
    body: Value,
    leaks: &[&str],
) -> String {
    let res = app
        .http
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    let e = &body["errors"][0];
    assert_eq!(e["extensions"]["code"], "INTERNAL", "{body}");
    assert_eq!(e["extensions"]["requestId"], rid.as_str());
    assert_eq!(e["message"], "internal error");
    let text = body.to_string().to_lowercase();
    for leak in leaks {
        assert!(!text.contains(leak), "the error leaks {leak}: {body}");
    }
    rid
}

#[tokio::test]
async fn an_internal_error_reveals_only_a_request_id_and_writes_nothing() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    // Break the audit table: every mutation must now fail as a whole.
    app.state
        .services
        .db
        .conn
        .execute_unprepared("DROP TABLE audit_events")
        .await
        .unwrap();
    assert_internal_without_leaks(
        &app,
        &root,
        json!({"query": CREATE_ORG, "variables": {"i": {"handle": "acme", "name": "Acme"}}}),
        &["audit", "sql", "table", "relation", "insert"],
    )
    .await;
    // The organization row of the failed transaction was rolled back.
    let d = app
        .expect_data(
            Some(&root),
            "{ organizations(first: 10, all: true) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(d["organizations"]["totalCount"], 0);
}

/// A database error inside a read resolver (not one of our domain errors)
/// is INTERNAL with the request id, and its text stays in the log.
#[tokio::test]
async fn a_database_error_in_a_read_is_internal_and_reveals_nothing() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    app.create_org(&root, "acme").await;
    app.state
        .services
        .db
        .conn
        .execute_unprepared("ALTER TABLE memberships RENAME TO memberships_away")
        .await
        .unwrap();
    assert_internal_without_leaks(
        &app,
        &root,
        json!({"query": "{ viewer { id memberships(first: 5) { nodes { role } } } }"}),
        &[
            "memberships_away",
            "sql",
            "table",
            "relation",
            "no such",
            "select",
        ],
    )
    .await;
}

/// Every ERROR event of this test binary, as text: one global subscriber,
/// installed by the first caller. Tests running at the same time log here
/// too, so a test picks its own lines by request id.
#[derive(Clone, Default)]
struct ErrorLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for ErrorLog {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ErrorLog {
    fn get() -> &'static ErrorLog {
        static LOG: std::sync::OnceLock<ErrorLog> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let log = ErrorLog::default();
            let writer = log.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::ERROR)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
            log
        })
    }

    fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

/// A stored role that is none of ours (written behind the server's back)
/// is an error, never read as MEMBER: each read of it answers INTERNAL with
/// the request id, logged once with that id and the cause.
#[tokio::test]
async fn an_unknown_stored_role_is_internal_with_a_request_id_and_logged_once() {
    use orgraph::entity::membership;
    use sea_orm::{sea_query::Expr, EntityTrait};
    let log = ErrorLog::get();
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    app.create_org(&root, "acme").await;
    membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value("OWNER"))
        .exec(&app.state.services.db.conn)
        .await
        .unwrap();
    for query in [
        "{ viewer { memberships(first: 5) { nodes { role } } } }",
        "{ organization(handle: \"acme\") { viewerRole members(first: 5) { nodes { role } } } }",
    ] {
        // Neither read as a role ("member", quoted: the path says
        // "memberships") nor the stored text.
        let rid = assert_internal_without_leaks(
            &app,
            &root,
            json!({ "query": query }),
            &["\"member\"", "owner"],
        )
        .await;
        let lines = log.lines_with(&rid);
        assert_eq!(lines.len(), 1, "{query}: {lines:?}");
        assert!(
            lines[0].contains("internal error") && lines[0].contains("OWNER"),
            "the log line names the cause: {lines:?}"
        );
    }
}

#[tokio::test]
async fn transport_refuses_csrf_shapes_and_oversized_batches() {
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let url = app.url("/graphql");
    let mutation = "mutation { createOrganization(input: {handle: \"viaget\", name: \"x\"}) { organization { id } } }";
    // A mutation over GET: 405 and nothing changes.
    let res = app
        .http
        .get(&url)
        .bearer_auth(&root)
        .query(&[("query", mutation)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    // Queries over GET work.
    let res = app
        .http
        .get(&url)
        .bearer_auth(&root)
        .query(&[("query", "{ viewer { email } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["data"]["viewer"]["email"],
        "boss@example.com"
    );
    // text/plain, form-encoded or no content type: 415, nothing runs.
    let body = json!({"query": mutation}).to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app.http.post(&url).bearer_auth(&root).body(body.clone());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        assert_eq!(req.send().await.unwrap().status(), 415, "{ct:?}");
    }
    // Multipart without a preflight header: 400.
    let form = reqwest::multipart::Form::new()
        .text("operations", body.clone())
        .text("map", "{}");
    let res = app
        .http
        .post(&url)
        .bearer_auth(&root)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // A batch of 11: 400 before anything executes.
    let batch: Vec<Value> = (0..11).map(|i| json!({"query": format!("mutation {{ createOrganization(input: {{handle: \"b{i}\", name: \"x\"}}) {{ organization {{ id }} }} }}")})).collect();
    let res = app
        .http
        .post(&url)
        .bearer_auth(&root)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // A batch of 2 runs both.
    let res = app
        .http
        .post(&url)
        .bearer_auth(&root)
        .json(&batch[..2])
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    let d = app
        .expect_data(
            Some(&root),
            "{ organizations(first: 20, all: true) { nodes { handle } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["organizations"]["nodes"],
        json!([{"handle": "b0"}, {"handle": "b1"}])
    );
    // application/graphql-response+json: a request error is a 400.
    let res = app
        .http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ nope }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/graphql-response+json"));
}

/// Each unique index a write turns into ALREADY_EXISTS is told from its
/// violation on this database (SQLite names columns, PostgreSQL the
/// index); a violation of another unique index, or any other error, is
/// none of them.
#[tokio::test]
async fn unique_violations_name_their_index_on_either_database() {
    use orgraph::entity::{account, membership, organization, service_account};
    use orgraph::error::{unique_violation, UniqueIndex};
    use sea_orm::{ActiveModelTrait, EntityTrait};
    let app = TestApp::spawn().await;
    let (root, _) = app.site_admin("boss@example.com").await;
    let org = app.create_org(&root, "acme").await;
    app.service_account(&root, &org, "robot").await;
    let conn = &app.state.services.db.conn;
    let fresh = uuid::Uuid::now_v7;
    /// What inserting `row`, which a constraint refuses, violates.
    async fn violation<A: ActiveModelTrait + Send>(
        conn: &sea_orm::DatabaseConnection,
        row: A,
    ) -> Option<UniqueIndex> {
        let e = <A::Entity as EntityTrait>::insert(row)
            .exec_without_returning(conn)
            .await
            .expect_err("a constraint refuses the row");
        unique_violation(&e)
    }

    let acc = account::Entity::find().one(conn).await.unwrap().unwrap();
    let o = organization::Entity::find()
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    let m = membership::Entity::find().one(conn).await.unwrap().unwrap();
    let sa = service_account::Entity::find()
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    let copy = |m: &membership::Model| membership::Model {
        id: fresh(),
        ..m.clone()
    };
    let cases: Vec<(Option<UniqueIndex>, Option<UniqueIndex>)> = vec![
        (
            violation(
                conn,
                account::ActiveModel::from(account::Model { id: fresh(), ..acc }),
            )
            .await,
            Some(UniqueIndex::AccountsEmail),
        ),
        (
            violation(
                conn,
                organization::ActiveModel::from(organization::Model { id: fresh(), ..o }),
            )
            .await,
            Some(UniqueIndex::OrganizationsHandle),
        ),
        (
            violation(conn, membership::ActiveModel::from(copy(&m))).await,
            Some(UniqueIndex::MembershipsOrgAccount),
        ),
        (
            violation(
                conn,
                service_account::ActiveModel::from(service_account::Model {
                    id: fresh(),
                    client_id: format!("other-{}", sa.client_id),
                    ..sa.clone()
                }),
            )
            .await,
            Some(UniqueIndex::ServiceAccountsOrgName),
        ),
        // Another unique index (the client id's) is none of those.
        (
            violation(
                conn,
                service_account::ActiveModel::from(service_account::Model {
                    id: fresh(),
                    name: "other".into(),
                    ..sa
                }),
            )
            .await,
            None,
        ),
        // Not a unique violation at all: a foreign key.
        (
            violation(
                conn,
                membership::ActiveModel::from(membership::Model {
                    organization_id: fresh(),
                    ..copy(&m)
                }),
            )
            .await,
            None,
        ),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got, want, "case {i}");
    }
}
