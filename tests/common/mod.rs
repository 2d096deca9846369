//! TestApp: the real router on a random loopback port, over a fresh
//! database. SQLite (a file in a temp dir, WAL) by default; with
//! `ORGRAPH_TEST_POSTGRES=postgres://user@host:port` each app gets its own
//! randomly named PostgreSQL database, dropped afterwards.
#![allow(dead_code)]

pub mod smtp;

use std::net::SocketAddr;
use std::sync::Arc;

#[allow(unused_imports)]
pub use orgraph::clock::Clock;
use orgraph::clock::TestClock;
use orgraph::{AppState, Config};
use serde_json::{json, Value};

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

pub struct TestApp {
    pub addr: SocketAddr,
    /// Where /metrics is served when the config set `metrics_bind` (any
    /// port, 0 included: this is the bound one).
    pub metrics_addr: Option<SocketAddr>,
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<TestClock>,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    /// The first error's extensions.code, if any.
    pub fn code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
    pub fn ok(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none() || self.body["errors"].is_null(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::defaults();
        config.data_dir = dir.path().to_path_buf();
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.max_concurrent_hashes = 8;
        // Race tests send thousands of requests a minute as one principal;
        // tests/limits.rs turns the limit on where it is under test.
        config.rate_limit_graphql = 0;
        // Background flushes would add statements to the counts tests take
        // around one request; tests that need them call the flush directly.
        config.usage_flush_seconds = 3600;
        config.last_used_flush_seconds = 3600;
        let pg = match postgres_server() {
            Some(server) => Some(PgDatabase::create(&server).await),
            None => None,
        };
        config.database_url = Some(match &pg {
            Some(p) => p.url(),
            None => format!("sqlite://{}/orgraph.db?mode=rwc", dir.path().display()),
        });
        // Bind first, so links the server builds (sign-in URLs, mail) point here.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.bind = addr;
        config.public_url = Some(format!("http://{addr}"));
        tweak(&mut config);
        let metrics_listener = match config.metrics_bind {
            Some(a) => Some(tokio::net::TcpListener::bind(a).await.unwrap()),
            None => None,
        };
        let metrics_addr = metrics_listener.as_ref().map(|l| l.local_addr().unwrap());
        config.metrics_bind = metrics_addr;
        let clock = Arc::new(TestClock::default());
        let state = AppState::build(config, clock.clone())
            .await
            .expect("app state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        tokio::spawn(async move {
            let _ = orgraph::app::serve_on(served, listener, metrics_listener, async {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            addr,
            metrics_addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .unwrap(),
            clock,
            state,
            dir,
            pg,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Resp {
        let mut req = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Resp { status, body }
    }

    /// Run a mutation/query and return its data, panicking on errors.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let r = self.gql(token, query, variables).await;
        r.ok().clone()
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let res = self
            .token_request(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .await;
        assert_eq!(res.status(), 200, "sign-in of {email} failed");
        let v: Value = res.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    /// A site admin through the same code path as `orgraph create-admin`.
    pub async fn site_admin(&self, email: &str) -> (String, String) {
        let acc = orgraph::domain::accounts::create_admin(&self.state, email, Some(PASSWORD))
            .await
            .expect("create admin");
        let token = self.sign_in(email, PASSWORD).await;
        (token, global_id("Account", acc.id))
    }

    /// Total SQL statements sent so far (from /metrics).
    /// Statements sent so far, read once the counter has been still for
    /// 100 ms, so work a previous request queued (a mail pass) is not
    /// counted against the next one.
    pub async fn sql_count(&self) -> u64 {
        let mut last = self.read_sql_count().await;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = self.read_sql_count().await;
            if now == last {
                return now;
            }
            last = now;
        }
    }

    async fn read_sql_count(&self) -> u64 {
        self.metric("orgraph_db_queries_total")
            .await
            .expect("orgraph_db_queries_total in /metrics") as u64
    }

    /// One series of `/metrics`, named as printed (labels included, e.g.
    /// `orgraph_graphql_lists_total{path="plain"}`); None when absent.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let base = match self.metrics_addr {
            Some(a) => format!("http://{a}"),
            None => self.base.clone(),
        };
        let text = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
    }
}

pub const PASSWORD: &str = "correct horse battery";

pub fn global_id(kind: &str, id: uuid::Uuid) -> String {
    use orgraph::graphql::ids::{encode, NodeKind};
    let kind = NodeKind::ALL.into_iter().find(|k| k.as_str() == kind);
    encode(kind.expect("a node kind"), id).0
}

/// A world for permission tests: one organization with a site admin, an
/// ADMIN, a BILLING_MANAGER, a MEMBER and an outsider who belongs to another
/// organization.
pub struct World {
    pub site_admin: String,
    pub admin: String,
    pub admin_id: String,
    pub billing: String,
    pub billing_id: String,
    pub member: String,
    pub member_id: String,
    pub outsider: String,
    pub outsider_id: String,
    pub org_id: String,
    pub handle: String,
    pub other_org_id: String,
}

pub const CREATE_ORG: &str = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id handle } } }";
pub const CREATE_USER: &str = "mutation($i: CreateUserInput!) { createUser(input: $i) { account { id } membership { id role } } }";

impl TestApp {
    pub async fn create_org(&self, token: &str, handle: &str) -> String {
        let d = self
            .ok(
                Some(token),
                CREATE_ORG,
                json!({ "i": { "handle": handle, "name": format!("Org {handle}") } }),
            )
            .await;
        d["createOrganization"]["organization"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Create a PERSON member with a password and sign them in.
    pub async fn user(
        &self,
        admin_token: &str,
        org_id: &str,
        email: &str,
        role: &str,
    ) -> (String, String) {
        let d = self
            .ok(
                Some(admin_token),
                CREATE_USER,
                json!({ "i": { "organization": org_id, "email": email, "password": PASSWORD, "role": role } }),
            )
            .await;
        let id = d["createUser"]["account"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        (self.sign_in(email, PASSWORD).await, id)
    }

    pub async fn world(&self) -> World {
        let (site_admin, _) = self.site_admin("root@example.com").await;
        // People are created by the site admin in scratch organizations (one
        // each, so the outsider shares no organization with acme's people),
        // then create their own organizations and become their admins.
        let scratch1 = self.create_org(&site_admin, "scratch-one").await;
        let scratch2 = self.create_org(&site_admin, "scratch-two").await;
        let (admin, admin_id) = self
            .user(&site_admin, &scratch1, "admin@example.com", "MEMBER")
            .await;
        let (outsider, outsider_id) = self
            .user(&site_admin, &scratch2, "outsider@example.com", "MEMBER")
            .await;
        let org_id = self.create_org(&admin, "acme").await;
        let other_org_id = self.create_org(&outsider, "other").await;
        let (billing, billing_id) = self
            .user(&admin, &org_id, "billing@example.com", "BILLING_MANAGER")
            .await;
        let (member, member_id) = self
            .user(&admin, &org_id, "member@example.com", "MEMBER")
            .await;
        // The outsider must not share an organization with acme's people.
        World {
            site_admin,
            admin,
            admin_id,
            billing,
            billing_id,
            member,
            member_id,
            outsider,
            outsider_id,
            org_id,
            handle: "acme".into(),
            other_org_id,
        }
    }
}

pub const ASSIGN: &str = "mutation($i: SeatAccountsInput!) { assignSeats(input: $i) { results { account seat { assignedAt } error { code field } } seats { limit used available } } }";
pub const REVOKE_SEATS: &str = "mutation($i: SeatAccountsInput!) { revokeSeats(input: $i) { results { account error { code } } seats { used } } }";
pub const ISSUE: &str = "mutation($i: IssueAccessTokenInput!) { issueAccessToken(input: $i) { secret accessToken { id prefix expiresAt active account { id } } } }";
pub const SET_PLAN: &str = "mutation($i: SetPlanInput!) { setPlan(input: $i) { organization { plan { seatLimit endsOn } } } }";
pub const CREATE_SA: &str = "mutation($i: CreateServiceAccountInput!) { createServiceAccount(input: $i) { clientSecret serviceAccount { id name clientId } } }";

impl TestApp {
    /// `n` MANAGED members (no password: no argon2 cost) of an organization.
    pub async fn managed_members(&self, token: &str, org_id: &str, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let d = self
                .ok(
                    Some(token),
                    CREATE_USER,
                    json!({"i": {"organization": org_id, "firstName": format!("m{i}")}}),
                )
                .await;
            ids.push(
                d["createUser"]["account"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        ids
    }

    pub async fn set_plan(
        &self,
        site_admin: &str,
        org_id: &str,
        limit: i64,
        ends_on: Option<&str>,
    ) -> Resp {
        let mut i = json!({"organization": org_id, "name": "team", "seatLimit": limit, "startsOn": "2026-01-01"});
        if let Some(e) = ends_on {
            i["endsOn"] = json!(e);
        }
        self.gql(Some(site_admin), SET_PLAN, json!({ "i": i }))
            .await
    }

    pub async fn assign(&self, token: &str, org_id: &str, accounts: &[String]) -> Resp {
        self.gql(
            Some(token),
            ASSIGN,
            json!({"i": {"organization": org_id, "accounts": accounts}}),
        )
        .await
    }

    /// A service account: (id, client id, client secret).
    pub async fn service_account(
        &self,
        admin: &str,
        org_id: &str,
        name: &str,
    ) -> (String, String, String) {
        let d = self
            .ok(
                Some(admin),
                CREATE_SA,
                json!({"i": {"organization": org_id, "name": name}}),
            )
            .await;
        let sa = &d["createServiceAccount"];
        (
            sa["serviceAccount"]["id"].as_str().unwrap().to_string(),
            sa["serviceAccount"]["clientId"]
                .as_str()
                .unwrap()
                .to_string(),
            sa["clientSecret"].as_str().unwrap().to_string(),
        )
    }

    /// The client-credentials grant with HTTP Basic.
    pub async fn sa_token(&self, client_id: &str, secret: &str) -> String {
        let res = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// RFC 7662 introspection authenticated as a service account.
    pub async fn introspect(&self, client_id: &str, secret: &str, token: &str) -> Value {
        let res = self.introspect_response(client_id, secret, token).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// The raw answer to an introspection (for refusals).
    pub async fn introspect_response(
        &self,
        client_id: &str,
        secret: &str,
        token: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/introspect"))
            .basic_auth(client_id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }
}

/// A minimal GraphQL websocket client over tokio-tungstenite.
pub mod ws {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{json, Value};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    pub type Socket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    #[derive(Debug, PartialEq)]
    pub enum Got {
        Msg(Value),
        Closed(u16),
        Nothing,
    }

    pub struct Client {
        pub socket: Socket,
        pub legacy: bool,
    }

    impl Client {
        pub async fn connect(base: &str, legacy: bool) -> Client {
            let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
            let mut req = url.into_client_request().unwrap();
            let proto = if legacy {
                "graphql-ws"
            } else {
                "graphql-transport-ws"
            };
            req.headers_mut()
                .insert("sec-websocket-protocol", proto.parse().unwrap());
            let (socket, res) = tokio_tungstenite::connect_async(req)
                .await
                .expect("websocket connect");
            assert_eq!(res.headers()["sec-websocket-protocol"], proto);
            Client { socket, legacy }
        }

        pub async fn send(&mut self, v: Value) {
            self.socket
                .send(Message::Text(v.to_string().into()))
                .await
                .unwrap();
        }

        /// The next message (skipping keep-alives), a close code, or nothing within `secs`.
        pub async fn recv(&mut self, secs: u64) -> Got {
            loop {
                match tokio::time::timeout(Duration::from_secs(secs), self.socket.next()).await {
                    Err(_) => return Got::Nothing,
                    Ok(None) | Ok(Some(Err(_))) => return Got::Closed(0),
                    Ok(Some(Ok(Message::Text(t)))) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        if v["type"] == "ka" || v["type"] == "ping" || v["type"] == "pong" {
                            continue;
                        }
                        return Got::Msg(v);
                    }
                    Ok(Some(Ok(Message::Close(f)))) => {
                        return Got::Closed(f.map(|f| u16::from(f.code)).unwrap_or(0))
                    }
                    Ok(Some(Ok(_))) => continue,
                }
            }
        }

        pub async fn init(&mut self, token: Option<&str>) -> Got {
            let payload = match token {
                Some(t) => json!({"Authorization": format!("Bearer {t}")}),
                None => json!({}),
            };
            self.send(json!({"type": "connection_init", "payload": payload}))
                .await;
            self.recv(5).await
        }

        /// Connect, init and expect an ack.
        pub async fn ready(base: &str, legacy: bool, token: &str) -> Client {
            let mut c = Client::connect(base, legacy).await;
            match c.init(Some(token)).await {
                Got::Msg(m) if m["type"] == "connection_ack" => c,
                other => panic!("no ack: {other:?}"),
            }
        }

        pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
            let ty = if self.legacy { "start" } else { "subscribe" };
            self.send(
                json!({"type": ty, "id": id, "payload": {"query": query, "variables": variables}}),
            )
            .await;
        }

        /// The next data payload for a subscription (next / data).
        pub async fn next_data(&mut self, secs: u64) -> Option<Value> {
            match self.recv(secs).await {
                Got::Msg(m) if m["type"] == "next" || m["type"] == "data" => {
                    Some(m["payload"].clone())
                }
                _ => None,
            }
        }
    }
}

/// The real `orgraph` binary as a child process.
pub mod process {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// `orgraph <args>` with a data dir and database.
    pub fn orgraph(db_url: &str, data_dir: &std::path::Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_orgraph"));
        c.env("DATABASE_URL", db_url)
            .env("ORGRAPH_DATA_DIR", data_dir);
        c
    }

    /// `orgraph create-admin` with the test password.
    pub fn create_admin(db_url: &str, data_dir: &std::path::Path, email: &str) {
        let out = orgraph(db_url, data_dir)
            .args([
                "create-admin",
                "--email",
                email,
                "--password",
                super::PASSWORD,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start `orgraph serve` on `port` (quiet unless the command says otherwise).
    pub fn serve(mut c: Command, port: u16) -> Child {
        c.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null());
        c.spawn().unwrap()
    }

    pub fn sigterm(child: &Child) {
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    }

    /// The exit status, at most `within` from now.
    pub async fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
        let since = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            assert!(since.elapsed() < within, "no exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `POST /oauth/token` with the password grant to a server at `base`.
    pub async fn password_grant(
        http: &reqwest::Client,
        base: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        http.post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
            ])
            .send()
            .await
            .expect("an answer, not a dropped connection")
    }

    /// The JWT of a password grant that must succeed.
    pub async fn password_token(
        http: &reqwest::Client,
        base: &str,
        email: &str,
        password: &str,
    ) -> String {
        let v: serde_json::Value = password_grant(http, base, email, password)
            .await
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().expect("a token").to_string()
    }

    /// A GraphQL request to a server at `base` that must succeed; its data.
    pub async fn gql_ok(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> serde_json::Value {
        let b: serde_json::Value = http
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&serde_json::json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(b.get("errors").is_none(), "{b}");
        b["data"].clone()
    }

    pub async fn wait_ready(base: &str) {
        let http = reqwest::Client::new();
        let t = Instant::now();
        while http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "server at {base} did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Sign-in links and the JWTs they yield.
pub mod links {
    use base64::Engine;
    use serde_json::Value;

    use super::TestApp;

    /// Follow a sign-in URL: the JWT, or the HTTP status it was refused with.
    pub async fn redeem(app: &TestApp, url: &str) -> Result<String, u16> {
        let res = app.http.get(url).send().await.unwrap();
        if res.status() != 200 {
            return Err(res.status().as_u16());
        }
        let v: Value = res.json().await.unwrap();
        Ok(v["access_token"].as_str().unwrap().to_string())
    }

    /// A JWT's claims (not verified: the tests read what the server wrote).
    pub fn claims(jwt: &str) -> Value {
        let payload = jwt.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    }

    /// The uuid inside a global ID.
    pub fn uuid_of(global: &str) -> String {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(global)
            .unwrap();
        String::from_utf8(raw)
            .unwrap()
            .split_once(':')
            .unwrap()
            .1
            .to_string()
    }
}
