//! `seed`: a realistic data set written straight through SQL — multi-row
//! INSERTs built from the server's own entities (so column encodings are
//! exactly what the server reads), in one transaction per batch of
//! organizations. Secrets use the server's own formats
//! (`orgraph::auth::tokens`); every account shares ONE argon2 password hash,
//! computed once (hashing 200,000 passwords would take an hour).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Days, NaiveDate, Utc};
use migration::{Migrator, MigratorTrait};
use orgraph::auth::password::Hasher;
use orgraph::auth::tokens;
use orgraph::entity::enums::{AccountKind, Role, StoredInvitationStatus};
use orgraph::entity::{
    access_token, account, invitation, membership, organization, seat, service_account,
};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::fixtures::{Fixtures, OrgFixture};

pub const PASSWORD: &str = "bench-password-1";
pub const SITE_ADMIN_EMAIL: &str = "site-admin@bench.example";
/// Organizations whose admin also belongs to the next few organizations
/// (as MEMBER), so `viewer{memberships}` has more than one row.
const EXTRA_MEMBERSHIPS: usize = 4;
const INVITATIONS_PER_ORG: usize = 20;
const SAMPLE_TOKENS_PER_ORG: usize = 8;
const CHURN_ACCOUNTS_PER_ORG: usize = 8;
const ORGS_PER_TX: usize = 25;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Scale {
    Small,
    Large,
}

impl Scale {
    pub fn shape(self) -> (usize, usize) {
        match self {
            Scale::Small => (50, 100),
            Scale::Large => (1_000, 200),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::Large => "large",
        }
    }
}

pub fn default_url(data_dir: &Path) -> String {
    format!("sqlite://{}/orgraph.db?mode=rwc", data_dir.display())
}

async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false).max_connections(1);
    if url.starts_with("sqlite:") {
        // Bulk load: nothing to protect until the seed is complete.
        opts.map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Off)
                .busy_timeout(Duration::from_secs(30))
        });
    }
    Ok(Database::connect(opts).await?)
}

/// Refuse to wipe a database that holds anything but an earlier seed.
async fn check_disposable(db: &DatabaseConnection, force: bool) -> anyhow::Result<()> {
    let foreign = organization::Entity::find()
        .filter(organization::Column::Handle.not_like("bench-%"))
        .count(db)
        .await
        .unwrap_or(0);
    if foreign > 0 && !force {
        bail!("the database holds {foreign} organizations that the bench did not seed; pass --force to wipe it anyway");
    }
    Ok(())
}

pub async fn seed(
    scale: Scale,
    url: Option<String>,
    data_dir: &Path,
    force: bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(data_dir)?;
    let url = url.unwrap_or_else(|| default_url(data_dir));
    {
        let db = connect(&url).await?;
        Migrator::up(&db, None).await.context("migrating")?;
        check_disposable(&db, force).await?;
        Migrator::fresh(&db).await.context("resetting the schema")?;
        db.close().await?;
    }
    let db = connect(&url).await?;
    let (n_orgs, per_org) = scale.shape();
    eprintln!("hashing the shared password and client secret (argon2, twice)…");
    let hasher = Hasher::new(2);
    let password_hash = hasher.hash(PASSWORD).await.map_err(app)?;
    let client_secret = tokens::new_client_secret();
    let secret_hash = hasher.hash(&client_secret).await.map_err(app)?;
    let now = Utc::now();
    let gen = Gen {
        now,
        password_hash,
        secret_hash,
        per_org,
        plan_ends: (now + Days::new(365)).date_naive(),
    };

    let site_admin = gen.account(SITE_ADMIN_EMAIL.into(), "Site", "Admin", true);
    account::Entity::insert(account::ActiveModel::from(site_admin))
        .exec_without_returning(&db)
        .await?;
    let mut fixtures = Vec::with_capacity(n_orgs);
    let mut batch = Batch::default();
    for i in 0..n_orgs {
        fixtures.push(gen.org(i, &mut batch));
        if (i + 1) % ORGS_PER_TX == 0 || i + 1 == n_orgs {
            batch.write(&db).await?;
            batch = Batch::default();
            eprint!("\r{} / {n_orgs} organizations", i + 1);
        }
    }
    eprintln!();
    // The admin of organization i also belongs to the next organizations.
    for (i, f) in fixtures.iter().enumerate() {
        for k in 1..=EXTRA_MEMBERSHIPS.min(n_orgs - 1) {
            let other = &fixtures[(i + k) % n_orgs];
            batch.memberships.push(membership::Model {
                id: Uuid::now_v7(),
                organization_id: other.id,
                account_id: f.admin_id,
                role: Role::Member,
                created_at: now,
            });
        }
    }
    batch.write(&db).await?;
    // Fresh statistics, as a long-running database would have; on
    // PostgreSQL also what autovacuum would have done by then (hint bits,
    // visibility map), so the first measured window does not pay for it.
    db.execute_unprepared(match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    })
    .await?;
    db.close().await?;

    let fx = Fixtures {
        scale: scale.name().into(),
        database_url: url.clone(),
        password: PASSWORD.into(),
        site_admin_email: SITE_ADMIN_EMAIL.into(),
        client_secret,
        members_per_org: per_org,
        orgs: fixtures,
    };
    let path = fx.save(data_dir)?;
    let accounts = n_orgs * per_org;
    println!(
        "seeded {} ({n_orgs} organizations × {per_org} members = {accounts} accounts, {} seats/tokens, {} invitations) in {:.1}s; fixtures in {}",
        scale.name(),
        accounts / 2,
        n_orgs * INVITATIONS_PER_ORG,
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(())
}

fn app(e: orgraph::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.public_message())
}

struct Gen {
    now: DateTime<Utc>,
    password_hash: String,
    secret_hash: String,
    per_org: usize,
    plan_ends: NaiveDate,
}

const FIRST: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Allen",
    "Ritchie",
];

impl Gen {
    fn account(&self, email: String, first: &str, last: &str, admin: bool) -> account::Model {
        account::Model {
            id: Uuid::now_v7(),
            kind: AccountKind::Person,
            email: Some(email),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            password_hash: Some(self.password_hash.clone()),
            is_site_admin: admin,
            created_at: self.now,
            updated_at: self.now,
            claimed_at: Some(self.now),
            session_epoch: 0,
        }
    }

    /// One organization's rows into `b`; what the runner needs back.
    fn org(&self, i: usize, b: &mut Batch) -> OrgFixture {
        let now = self.now;
        let org = organization::Model {
            id: Uuid::now_v7(),
            handle: format!("bench-{i:04}"),
            name: format!("Bench Organization {i}"),
            description: Some("Seeded by orgraph-bench".into()),
            email: Some(format!("contact@org{i}.bench.example")),
            link: Some(format!("https://org{i}.bench.example")),
            storage_enabled: i.is_multiple_of(2),
            notebooks_enabled: i.is_multiple_of(3),
            plan_name: "Team".into(),
            seat_limit: (self.per_org / 2 + 20) as i32,
            plan_starts_on: (now - Days::new(30)).date_naive(),
            plan_ends_on: Some(self.plan_ends),
            created_at: now,
            updated_at: now,
        };
        let expires = self
            .plan_ends
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc();
        let mut fx = OrgFixture {
            id: org.id,
            handle: org.handle.clone(),
            admin_email: String::new(),
            admin_id: Uuid::nil(),
            unseated: Vec::new(),
            tokens: Vec::new(),
            client_id: format!("orgc_{}", tokens::random_base62(24)),
        };
        for j in 0..self.per_org {
            let email = format!("m{j}.o{i}@bench.example");
            let acc = self.account(email.clone(), FIRST[j % 10], LAST[(j / 10) % 10], false);
            let role = match j {
                0 | 2 => Role::Admin,
                1 => Role::BillingManager,
                _ => Role::Member,
            };
            if j == 0 {
                fx.admin_email = email;
                fx.admin_id = acc.id;
            }
            b.memberships.push(membership::Model {
                id: Uuid::now_v7(),
                organization_id: org.id,
                account_id: acc.id,
                role,
                created_at: now,
            });
            if j < self.per_org / 2 {
                b.seats.push(seat::Model {
                    id: Uuid::now_v7(),
                    organization_id: org.id,
                    account_id: acc.id,
                    assigned_at: now,
                    assigned_by_account_id: Some(fx.admin_id),
                    assigned_by_service_account_id: None,
                });
                let secret = tokens::new_access_token();
                b.tokens.push(access_token::Model {
                    id: Uuid::now_v7(),
                    organization_id: org.id,
                    account_id: acc.id,
                    name: Some("laptop".into()),
                    prefix: tokens::access_token_prefix(&secret),
                    token_hash: tokens::sha256_hex(&secret),
                    scopes: "[]".into(),
                    created_at: now,
                    expires_at: expires,
                    last_used_at: None,
                    revoked_at: None,
                    issued_by_account_id: Some(fx.admin_id),
                    issued_by_service_account_id: None,
                });
                if fx.tokens.len() < SAMPLE_TOKENS_PER_ORG {
                    fx.tokens.push(secret);
                }
            } else if fx.unseated.len() < CHURN_ACCOUNTS_PER_ORG {
                fx.unseated.push(acc.id);
            }
            b.accounts.push(acc);
        }
        for k in 0..INVITATIONS_PER_ORG {
            b.invitations.push(invitation::Model {
                id: Uuid::now_v7(),
                organization_id: org.id,
                email: format!("invitee{k}.o{i}@bench.example"),
                role: Role::Member,
                status: StoredInvitationStatus::Pending,
                token_hash: tokens::sha256_hex(&tokens::new_opaque_token()),
                invited_by_account_id: Some(fx.admin_id),
                invited_by_service_account_id: None,
                created_at: now,
                last_sent_at: now,
                expires_at: now + Days::new(7),
                send_count: 1,
                responded_at: None,
                accepted_account_id: None,
            });
        }
        b.service_accounts.push(service_account::Model {
            id: Uuid::now_v7(),
            organization_id: org.id,
            name: "bench-introspector".into(),
            client_id: fx.client_id.clone(),
            secret_hash: self.secret_hash.clone(),
            created_at: now,
            created_by_account_id: Some(fx.admin_id),
            last_used_at: None,
            secret_rotated_at: None,
        });
        b.orgs.push(org);
        fx
    }
}

#[derive(Default)]
struct Batch {
    orgs: Vec<organization::Model>,
    accounts: Vec<account::Model>,
    memberships: Vec<membership::Model>,
    seats: Vec<seat::Model>,
    tokens: Vec<access_token::Model>,
    service_accounts: Vec<service_account::Model>,
    invitations: Vec<invitation::Model>,
}

/// Multi-row INSERTs of at most ~20,000 bound values (SQLite allows 32,766,
/// PostgreSQL 65,535).
async fn insert_all<C, M, A>(db: &C, rows: Vec<M>, columns: usize) -> anyhow::Result<()>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + From<M> + Send,
    M: Clone,
{
    let per = (20_000 / columns).max(1);
    for chunk in rows.chunks(per) {
        <A::Entity as EntityTrait>::insert_many(chunk.iter().cloned().map(A::from))
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

impl Batch {
    async fn write(&mut self, db: &DatabaseConnection) -> anyhow::Result<()> {
        let tx = db.begin().await?;
        insert_all::<_, _, organization::ActiveModel>(&tx, std::mem::take(&mut self.orgs), 14)
            .await?;
        insert_all::<_, _, account::ActiveModel>(&tx, std::mem::take(&mut self.accounts), 11)
            .await?;
        insert_all::<_, _, membership::ActiveModel>(&tx, std::mem::take(&mut self.memberships), 5)
            .await?;
        insert_all::<_, _, seat::ActiveModel>(&tx, std::mem::take(&mut self.seats), 6).await?;
        insert_all::<_, _, access_token::ActiveModel>(&tx, std::mem::take(&mut self.tokens), 13)
            .await?;
        insert_all::<_, _, service_account::ActiveModel>(
            &tx,
            std::mem::take(&mut self.service_accounts),
            9,
        )
        .await?;
        insert_all::<_, _, invitation::ActiveModel>(&tx, std::mem::take(&mut self.invitations), 14)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
