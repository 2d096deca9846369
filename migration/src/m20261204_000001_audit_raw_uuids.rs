//! The audit log's `data` used to name tokens, service accounts, sign-in
//! links and impersonating admins by their API global IDs
//! (base64url("Type:uuid")); the domain now stores raw UUIDs and the API
//! turns them into global IDs when it shows a record. This rewrites the rows
//! written before. Rows are rewritten by their whole `data` text, in batches
//! ordered by it, so identical records are rewritten together and the id
//! column's storage type never matters. Down writes global IDs back.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use serde_json::Value;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The keys that held global IDs, and the type each named.
const REFERENCES: &[(&str, &str)] = &[
    ("token", "AccessToken"),
    ("serviceAccount", "ServiceAccount"),
    ("signInToken", "SignInToken"),
    ("impersonatedBy", "Account"),
];

const BATCH: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        rewrite(m, to_raw).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        rewrite(m, to_global).await
    }
}

/// `Type:uuid` inside a global ID of the expected type, else None.
fn to_raw(kind: &str, v: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (k, uuid) = text.split_once(':')?;
    (k == kind && uuid.len() == 36).then(|| uuid.to_string())
}

fn to_global(kind: &str, v: &str) -> Option<String> {
    (v.len() == 36 && v.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .then(|| URL_SAFE_NO_PAD.encode(format!("{kind}:{v}")))
}

/// `data` with every reference mapped, or None when nothing changes.
fn mapped(data: &str, f: fn(&str, &str) -> Option<String>) -> Option<String> {
    let mut json: Value = serde_json::from_str(data).ok()?;
    let map = json.as_object_mut()?;
    let mut changed = false;
    for (key, kind) in REFERENCES {
        if let Some(Value::String(s)) = map.get(*key) {
            if let Some(new) = f(kind, s) {
                map.insert((*key).to_string(), Value::String(new));
                changed = true;
            }
        }
    }
    changed.then(|| json.to_string())
}

async fn rewrite(m: &SchemaManager<'_>, f: fn(&str, &str) -> Option<String>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let table = Alias::new("audit_events");
    let data = Alias::new("data");
    let mut after: Option<String> = None;
    loop {
        let mut any = Condition::any();
        for (key, _) in REFERENCES {
            any = any.add(Expr::col(data.clone()).like(format!("%\"{key}\"%")));
        }
        let mut cond = Condition::all().add(any);
        if let Some(a) = &after {
            cond = cond.add(Expr::col(data.clone()).gt(a.clone()));
        }
        let select = Query::select()
            .distinct()
            .column(data.clone())
            .from(table.clone())
            .cond_where(cond)
            .order_by(data.clone(), Order::Asc)
            .limit(BATCH)
            .to_owned();
        let rows = db.query_all(&select).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in &rows {
            let old: String = row.try_get("", "data")?;
            if let Some(new) = mapped(&old, f) {
                let update = Query::update()
                    .table(table.clone())
                    .value(data.clone(), new)
                    .and_where(Expr::col(data.clone()).eq(old.clone()))
                    .to_owned();
                m.exec_stmt(update).await?;
            }
            after = Some(old);
        }
        if (rows.len() as u64) < BATCH {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_become_raw_and_back() {
        let uuid = "0192f0c8-7a6e-7c3e-8f00-1234567890ab";
        let global = URL_SAFE_NO_PAD.encode(format!("AccessToken:{uuid}"));
        let stored = format!(r#"{{"token":"{global}","prefix":"orgt_ab","invitation":"{uuid}"}}"#);
        let raw = mapped(&stored, to_raw).expect("rewritten");
        let v: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(v["token"], uuid);
        assert_eq!(v["prefix"], "orgt_ab");
        assert_eq!(v["invitation"], uuid, "raw references are left alone");
        assert_eq!(mapped(&raw, to_raw), None, "idempotent");
        let back: Value = serde_json::from_str(&mapped(&raw, to_global).unwrap()).unwrap();
        assert_eq!(back["token"], global);
        // A global ID of another type is not this key's reference.
        let other = URL_SAFE_NO_PAD.encode(format!("Account:{uuid}"));
        assert_eq!(mapped(&format!(r#"{{"token":"{other}"}}"#), to_raw), None);
    }
}
