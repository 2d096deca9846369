//! The database under a test: a SQLite file in the test's temp dir by
//! default; with `ORGRAPH_TEST_POSTGRES=postgres://user@host:port` a fresh,
//! randomly named PostgreSQL database, dropped with its guard.

pub struct PgDatabase {
    server: String,
    name: String,
}

impl PgDatabase {
    pub async fn create(server: &str) -> PgDatabase {
        use sea_orm::{ConnectionTrait, Database};
        let name = format!("orgraph_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(format!("{}/postgres", server.trim_end_matches('/')))
            .await
            .expect("connect to PostgreSQL (ORGRAPH_TEST_POSTGRES)");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        PgDatabase {
            server: server.trim_end_matches('/').to_string(),
            name,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sea_orm::{ConnectionTrait, Database};
                if let Ok(admin) = Database::connect(format!("{server}/postgres")).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A database for a test that runs the real binary: a fresh PostgreSQL
/// database when `ORGRAPH_TEST_POSTGRES` is set (dropped with the guard),
/// else a SQLite file in `dir`. The URL, and the guard to keep alive.
pub async fn process_database(dir: &std::path::Path) -> (String, Option<PgDatabase>) {
    match postgres_server() {
        Some(s) => {
            let pg = PgDatabase::create(&s).await;
            (pg.url(), Some(pg))
        }
        None => (
            format!("sqlite://{}/orgraph.db?mode=rwc", dir.display()),
            None,
        ),
    }
}

pub fn postgres_server() -> Option<String> {
    std::env::var("ORGRAPH_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}
