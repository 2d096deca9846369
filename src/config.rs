//! One `Config`, built once at start from flags, environment and defaults
//! (`cli.md`). Nothing else in the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "orgraph",
    version,
    about = "GraphQL API server for organizations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (migrates the database first). The default.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create a site admin, or make an existing account one.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Without it: ORGRAPH_ADMIN_PASSWORD, else a prompt.
        #[arg(long, env = "ORGRAPH_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Print the GraphQL SDL (what schema.graphql holds).
    PrintSchema,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OrgCreation {
    Anyone,
    SiteAdmins,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Database URL: sqlite://… or postgres://…
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    #[arg(
        long,
        env = "ORGRAPH_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,
    /// Holds the SQLite file and the generated signing key.
    #[arg(
        long,
        env = "ORGRAPH_DATA_DIR",
        default_value = "./orgraph-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Base URL used in mailed links and sign-in URLs (default http://<bind>).
    #[arg(long, env = "ORGRAPH_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Mail transport: log, file:DIR or smtp://host:port
    #[arg(long, env = "ORGRAPH_MAIL", default_value = "log", global = true)]
    pub mail: String,
    /// PEM file of the Ed25519 signing key (default: generated in the data dir).
    #[arg(long, env = "ORGRAPH_JWT_KEY", global = true)]
    pub jwt_key: Option<PathBuf>,
    /// Extra PEM public keys accepted for verification (key rotation), comma separated.
    #[arg(
        long,
        env = "ORGRAPH_JWT_VERIFY_KEYS",
        value_delimiter = ',',
        global = true
    )]
    pub jwt_verify_keys: Vec<PathBuf>,
    /// Lifetime of issued JWTs, in seconds.
    #[arg(long, env = "ORGRAPH_JWT_TTL", default_value_t = 900, global = true)]
    pub jwt_ttl: i64,
    #[arg(
        long,
        env = "ORGRAPH_ORG_CREATION",
        value_enum,
        default_value = "anyone",
        global = true
    )]
    pub org_creation: OrgCreation,
    #[arg(
        long,
        env = "ORGRAPH_DEFAULT_SEAT_LIMIT",
        default_value_t = 5,
        global = true
    )]
    pub default_seat_limit: i32,
    #[arg(long, env = "ORGRAPH_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,
    #[arg(
        long,
        env = "ORGRAPH_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,
    /// Serve GraphiQL's assets from this directory instead of a CDN.
    #[arg(long, env = "ORGRAPH_GRAPHIQL_ASSETS", global = true)]
    pub graphiql_assets: Option<PathBuf>,
    /// Most concurrent argon2 hashes (each takes ~19 MiB).
    #[arg(
        long,
        env = "ORGRAPH_MAX_CONCURRENT_HASHES",
        default_value_t = 4,
        global = true
    )]
    pub max_concurrent_hashes: usize,
    /// Most nesting a query may have.
    #[arg(long, env = "ORGRAPH_MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,
    /// Most cost a query may have (fields, with connections costing
    /// page size x node cost, as GitHub's node limit).
    #[arg(
        long,
        env = "ORGRAPH_MAX_COMPLEXITY",
        default_value_t = 50_000,
        global = true
    )]
    pub max_complexity: usize,
    /// Most aliases in one request.
    #[arg(long, env = "ORGRAPH_MAX_ALIASES", default_value_t = 50, global = true)]
    pub max_aliases: usize,
    /// GraphQL requests per principal (or client IP when anonymous) per minute; 0 = off.
    #[arg(
        long,
        env = "ORGRAPH_RATE_LIMIT_GRAPHQL",
        default_value_t = 3000,
        global = true
    )]
    pub rate_limit_graphql: u32,
    /// Token requests per (client IP, username) and per client id per minute, and argon2
    /// client-secret checks (token grant, introspection) per client id per minute; 0 = off.
    #[arg(
        long,
        env = "ORGRAPH_RATE_LIMIT_TOKEN",
        default_value_t = 10,
        global = true
    )]
    pub rate_limit_token: u32,
    /// argon2 client-secret checks (secrets not verified before, wrong ones included) per
    /// client IP per minute, over all client ids; 0 = off. Separate from --rate-limit-token
    /// because behind a load balancer every client shares one address.
    #[arg(
        long,
        env = "ORGRAPH_RATE_LIMIT_CLIENT_IP",
        default_value_t = 60,
        global = true
    )]
    pub rate_limit_client_ip: u32,
    /// Browser origins allowed by CORS and on the websocket (comma separated); none by default.
    #[arg(
        long,
        env = "ORGRAPH_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Seconds a GraphQL request may run before it is cancelled (its transaction rolled back).
    #[arg(
        long,
        env = "ORGRAPH_REQUEST_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout: u64,
    /// Seconds a request waits for a database connection before failing
    /// (keep it short: when the database is down, requests fail fast).
    #[arg(
        long,
        env = "ORGRAPH_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5,
        global = true
    )]
    pub db_acquire_timeout: u64,
    /// Database connection pool size.
    #[arg(long, env = "ORGRAPH_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,
    /// Seconds between usage-counter flushes; a hard kill loses at most this much counting.
    #[arg(
        long,
        env = "ORGRAPH_USAGE_FLUSH_SECONDS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        global = true
    )]
    pub usage_flush_seconds: u64,
    /// Serve /metrics on this address only (and not on --bind, which then
    /// answers 404 for it); default: on --bind.
    #[arg(long, env = "ORGRAPH_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,
    /// Most distinct operation names that get their own label on
    /// orgraph_graphql_requests_total (the rest share `other`; anonymous
    /// callers' operations always share `anonymous`).
    #[arg(
        long,
        env = "ORGRAPH_METRICS_MAX_OPERATIONS",
        default_value_t = crate::metrics::DEFAULT_MAX_OPERATIONS,
        global = true
    )]
    pub metrics_max_operations: usize,
    /// Seconds between `lastUsedAt` flushes (tokens, service accounts). Not a
    /// flag: embedders and tests set it; 5 s keeps the column fresh enough
    /// for an admin console at one UPDATE per table per interval.
    #[arg(skip = 5u64)]
    pub last_used_flush_seconds: u64,
}

impl Config {
    /// Defaults as if no flag or variable were given, for embedding and tests.
    pub fn defaults() -> Self {
        Cli::parse_from(["orgraph"]).config
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/orgraph.db?mode=rwc", self.data_dir.display()),
        }
    }

    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    pub fn issuer(&self) -> String {
        self.public_url()
    }
}
