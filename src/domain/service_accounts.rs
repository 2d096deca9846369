//! Service accounts: an organization's automation identity. Only person
//! admins (site admins, org ADMINs) manage them; a service account can never
//! manage service accounts. Client secrets are argon2id hashes, shown once.

use std::collections::HashMap;

use parking_lot::Mutex;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::authz::standing_in;
use super::{audit, validate, Caller};
use crate::auth::tokens;
use crate::db::lock_org;
use crate::domain::Services;
use crate::entity::service_account;
use crate::error::{on_unique, AppError, AppResult, UniqueIndex};

fn new_client_id() -> String {
    format!("orgc_{}", tokens::random_base62(24))
}

pub async fn create(
    c: &Caller,
    org_id: Uuid,
    name: &str,
) -> AppResult<(service_account::Model, String)> {
    c.require_signed_in()?;
    let name = validate::service_account_name("name", name)?;
    let secret = tokens::new_client_secret();
    let hash = c.services.hasher.hash(&secret).await?;
    let now = c.now();
    let tx = c.write_tx().await?;
    lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.person_admin())?;
    let model = service_account::Model {
        id: Uuid::now_v7(),
        organization_id: org_id,
        name,
        client_id: new_client_id(),
        secret_hash: hash,
        created_at: now,
        created_by_account_id: c.principal.account_id(),
        last_used_at: None,
        secret_rotated_at: None,
    };
    service_account::Entity::insert(service_account::ActiveModel::from(model.clone()))
        .exec_without_returning(&*tx)
        .await
        .map_err(|e| {
            on_unique(
                e,
                UniqueIndex::ServiceAccountsOrgName,
                AppError::AlreadyExists(
                    "a service account with this name exists in the organization".into(),
                ),
            )
        })?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "service_account.create",
            actor: &c.principal,
            target_account_id: None,
            data: json!({ "name": model.name, "clientId": model.client_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((model, secret))
}

/// Find a service account the caller may manage, inside a locked transaction.
async fn managed<'a>(
    c: &'a Caller,
    id: Uuid,
) -> AppResult<(crate::db::WriteTx<'a>, service_account::Model)> {
    c.require_signed_in()?;
    let found = service_account::Entity::find_by_id(id)
        .one(&c.services.db.conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let tx = c.write_tx().await?;
    lock_org(&tx, found.organization_id).await?;
    let st = standing_in(&*tx, &c.principal, found.organization_id).await?;
    st.require(st.person_admin())?;
    let sa = service_account::Entity::find_by_id(id)
        .one(&*tx)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((tx, sa))
}

pub async fn rotate(c: &Caller, id: Uuid) -> AppResult<(service_account::Model, String)> {
    let secret = tokens::new_client_secret();
    let hash = c.services.hasher.hash(&secret).await?;
    let (tx, sa) = managed(c, id).await?;
    let now = c.now();
    let mut am: service_account::ActiveModel = sa.into();
    am.secret_hash = Set(hash);
    am.secret_rotated_at = Set(Some(now));
    let sa = am.update(&*tx).await?;
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(sa.organization_id),
            action: "service_account.rotate_secret",
            actor: &c.principal,
            target_account_id: None,
            data: json!({ "name": sa.name, "clientId": sa.client_id }),
        },
    )
    .await?;
    tx.commit().await?;
    c.services.client_secrets.forget(&sa.client_id);
    Ok((sa, secret))
}

pub async fn delete(c: &Caller, id: Uuid) -> AppResult<Uuid> {
    let (tx, sa) = managed(c, id).await?;
    service_account::Entity::delete_by_id(sa.id)
        .exec(&*tx)
        .await?;
    audit::record(
        &*tx,
        c.now(),
        audit::Event {
            organization_id: Some(sa.organization_id),
            action: "service_account.delete",
            actor: &c.principal,
            target_account_id: None,
            data: json!({ "serviceAccount": sa.id, "name": sa.name, "clientId": sa.client_id }),
        },
    )
    .await?;
    tx.emit(crate::events::Event::AccessChanged {
        organization_id: sa.organization_id,
        account_id: None,
        service_account_id: Some(sa.id),
    });
    tx.commit().await?;
    c.services.client_secrets.forget(&sa.client_id);
    Ok(sa.id)
}

/// Verified client secrets, so the hot path (introspection with client
/// credentials) runs argon2 once per secret instead of once per request.
/// Keyed by client id; an entry is valid only while the stored hash it was
/// verified against is still the row's hash, so a rotation on any instance
/// ends it at once.
#[derive(Default)]
pub struct SecretCache {
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl SecretCache {
    fn digest(secret: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(secret.as_bytes()).into()
    }

    fn hit(&self, client_id: &str, stored_hash: &str, secret: &str) -> bool {
        let d = Self::digest(secret);
        self.verified
            .lock()
            .get(client_id)
            .is_some_and(|(h, sd)| h == stored_hash && tokens::constant_time_eq(sd, &d))
    }

    fn remember(&self, client_id: &str, stored_hash: &str, secret: &str) {
        let mut v = self.verified.lock();
        if v.len() > 10_000 {
            v.clear();
        }
        v.insert(
            client_id.to_string(),
            (stored_hash.to_string(), Self::digest(secret)),
        );
    }

    pub fn forget(&self, client_id: &str) {
        self.verified.lock().remove(client_id);
    }
}

/// The outcome of a client authentication.
pub enum ClientCheck {
    Ok(service_account::Model),
    Bad,
    /// The argon2 check was not run: `gate` refused it (retry after).
    Limited(std::time::Duration),
}

/// Client authentication (client-credentials grant, introspection): one
/// statement, plus argon2 the first time a secret is seen. Unknown client
/// ids run a dummy hash so timing does not reveal them. Every argon2 check
/// (a cache miss, so every wrong secret) first asks `gate` (the caller's
/// rate limit); a secret verified before is answered from the cache, which
/// holds SHA-256 digests only and is bound to the row's current hash, so a
/// rotated or deleted account stops authenticating at once.
pub async fn authenticate_client(
    services: &Services,
    client_id: &str,
    secret: &str,
    gate: impl FnOnce() -> Result<(), std::time::Duration>,
) -> AppResult<ClientCheck> {
    if client_id.len() > 64 || secret.len() > 128 {
        return Ok(ClientCheck::Bad);
    }
    let sa = service_account::Entity::find()
        .filter(service_account::Column::ClientId.eq(client_id))
        .one(&services.db.conn)
        .await?;
    if let Some(sa) = &sa {
        if services
            .client_secrets
            .hit(&sa.client_id, &sa.secret_hash, secret)
        {
            services
                .last_used
                .touch_service_account(sa.id, services.clock.now());
            return Ok(ClientCheck::Ok(sa.clone()));
        }
    }
    if let Err(wait) = gate() {
        return Ok(ClientCheck::Limited(wait));
    }
    let Some(sa) = sa else {
        services.hasher.verify(secret, None).await?;
        return Ok(ClientCheck::Bad);
    };
    if services
        .hasher
        .verify(secret, Some(&sa.secret_hash))
        .await?
    {
        services
            .client_secrets
            .remember(&sa.client_id, &sa.secret_hash, secret);
        services
            .last_used
            .touch_service_account(sa.id, services.clock.now());
        Ok(ClientCheck::Ok(sa))
    } else {
        Ok(ClientCheck::Bad)
    }
}
