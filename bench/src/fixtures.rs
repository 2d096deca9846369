//! What `seed` tells `run`: the plaintext credentials and ids a client needs
//! and that the database holds only hashed (bench-fixtures.json next to the
//! database). Benchmark data only: every seeded account shares one password.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const FILE_NAME: &str = "bench-fixtures.json";

#[derive(Serialize, Deserialize, Clone)]
pub struct Fixtures {
    pub scale: String,
    pub database_url: String,
    /// The password of every seeded account (one argon2 hash, reused).
    pub password: String,
    pub site_admin_email: String,
    /// Client secret shared by every seeded service account.
    pub client_secret: String,
    pub members_per_org: usize,
    pub orgs: Vec<OrgFixture>,
}

#[derive(Serialize, Deserialize, Clone)]
pub struct OrgFixture {
    pub id: Uuid,
    pub handle: String,
    pub admin_email: String,
    pub admin_id: Uuid,
    /// Members without a seat, for seat-churn.
    pub unseated: Vec<Uuid>,
    /// A sample of this organization's live access-token secrets.
    pub tokens: Vec<String>,
    /// The organization's service account (introspection client).
    pub client_id: String,
}

pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

impl Fixtures {
    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let p = path_in(data_dir);
        let text = std::fs::read_to_string(&p)
            .with_context(|| format!("reading {} (run `orgraph-bench seed` first)", p.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    pub fn save(&self, data_dir: &Path) -> anyhow::Result<PathBuf> {
        let p = path_in(data_dir);
        std::fs::write(&p, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    }
}
