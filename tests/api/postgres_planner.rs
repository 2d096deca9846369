//! PostgreSQL sessions: orgraph's connections price a random page read as
//! cached/SSD storage (`random_page_cost` 1.1) when nobody configured one,
//! and keep whatever a DBA or the URL set (see `db::PG_RANDOM_PAGE_COST`).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};

async fn session_cost(url: &str) -> String {
    let db = orgraph::db::connect(
        url,
        2,
        Duration::from_secs(5),
        Arc::new(orgraph::metrics::Metrics::new()),
    )
    .await
    .expect("connect");
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SHOW random_page_cost",
        ))
        .await
        .expect("SHOW")
        .expect("a row");
    let v: String = row.try_get_by_index(0).expect("text");
    let _ = db.conn.close().await;
    v
}

#[tokio::test]
async fn random_page_cost_defaults_to_ssd_and_yields_to_any_configured_value() {
    let Some(server) = crate::helpers::postgres_server() else {
        eprintln!("PostgreSQL only (ORGRAPH_TEST_POSTGRES unset)");
        return;
    };
    let pg = crate::helpers::PgDatabase::create(&server).await;
    // Nobody set it: PostgreSQL's stock 4 would apply; orgraph's sessions use 1.1.
    assert_eq!(
        session_cost(&pg.url()).await,
        orgraph::db::PG_RANDOM_PAGE_COST
    );

    // Set in the URL's options: that value.
    let with_options = format!("{}?options=-c%20random_page_cost%3D2", pg.url());
    assert_eq!(session_cost(&with_options).await, "2");

    // Set on the database by its owner: that value.
    let admin = Database::connect(pg.url()).await.expect("connect");
    let name = pg.url().rsplit('/').next().unwrap().to_string();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" SET random_page_cost = 3"
        ))
        .await
        .expect("ALTER DATABASE");
    let _ = admin.close().await;
    assert_eq!(session_cost(&pg.url()).await, "3");

    // The server's own sessions, on a fresh database of its own.
    let app = crate::helpers::TestApp::spawn().await;
    let row = app
        .state
        .services
        .db
        .conn
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SHOW random_page_cost",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get_by_index::<String>(0).unwrap(),
        orgraph::db::PG_RANDOM_PAGE_COST
    );
}
