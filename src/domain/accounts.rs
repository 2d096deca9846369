//! Accounts: site-admin bootstrap and password sign-in.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{audit, validate, AccountKind};
use crate::auth::Principal;
use crate::domain::Services;
use crate::entity::account;
use crate::error::{on_unique, AppError, AppResult, UniqueIndex};

pub struct NewAccount {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password_hash: Option<String>,
    /// Created by its owner (invitation acceptance, the CLI), not
    /// provisioned for them by an organization's admin.
    pub by_owner: bool,
}

/// Insert an account (PERSON with an email, MANAGED without). A taken
/// email is ALREADY_EXISTS.
pub async fn insert<C: ConnectionTrait>(
    tx: &C,
    now: chrono::DateTime<chrono::Utc>,
    n: NewAccount,
) -> AppResult<account::Model> {
    let kind = if n.email.is_some() {
        AccountKind::Person
    } else {
        AccountKind::Managed
    };
    let id = Uuid::now_v7();
    let model = account::ActiveModel {
        id: Set(id),
        kind: Set(kind),
        email: Set(n.email),
        first_name: Set(n.first_name),
        last_name: Set(n.last_name),
        password_hash: Set(n.password_hash),
        is_site_admin: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        claimed_at: Set(n.by_owner.then_some(now)),
        session_epoch: Set(0),
    };
    account::Entity::insert(model.clone())
        .exec_without_returning(tx)
        .await
        .map_err(|e| {
            on_unique(
                e,
                UniqueIndex::AccountsEmail,
                AppError::AlreadyExists("an account with this email already exists".into()),
            )
        })?;
    Ok(account::Model {
        id,
        kind: model.kind.unwrap(),
        email: model.email.unwrap(),
        first_name: model.first_name.unwrap(),
        last_name: model.last_name.unwrap(),
        password_hash: model.password_hash.unwrap(),
        is_site_admin: false,
        created_at: now,
        updated_at: now,
        claimed_at: model.claimed_at.unwrap(),
        session_epoch: 0,
    })
}

/// `orgraph create-admin`: create a site admin, or promote an existing account.
pub async fn create_admin(
    services: &Services,
    email: &str,
    password: Option<&str>,
) -> AppResult<account::Model> {
    let email = validate::email("email", email)?;
    let hash = match password {
        Some(p) => {
            validate::password("password", p)?;
            Some(services.hasher.hash(p).await?)
        }
        None => None,
    };
    let now = services.clock.now();
    let tx = services.db.write_tx().await?;
    let existing = account::Entity::find()
        .filter(account::Column::Email.eq(email.clone()))
        .one(&*tx)
        .await?;
    let acc = match existing {
        Some(acc) => {
            let mut am: account::ActiveModel = acc.into();
            am.is_site_admin = Set(true);
            if let Some(h) = hash {
                am.password_hash = Set(Some(h));
            }
            // The operator vouches for the account it promotes.
            am.claimed_at = Set(Some(now));
            am.updated_at = Set(now);
            am.update(&*tx).await?
        }
        None => {
            if hash.is_none() {
                return Err(AppError::bad_input(
                    &["password"],
                    "a new admin needs a password",
                ));
            }
            let acc = insert(
                &*tx,
                now,
                NewAccount {
                    email: Some(email),
                    first_name: None,
                    last_name: None,
                    password_hash: hash,
                    by_owner: true,
                },
            )
            .await?;
            let mut am: account::ActiveModel = acc.into();
            am.is_site_admin = Set(true);
            am.update(&*tx).await?
        }
    };
    let actor = Principal::person(acc.id, true);
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: None,
            action: "account.site_admin_grant",
            actor: &actor,
            target_account_id: Some(acc.id),
            data: serde_json::json!({ "via": "cli" }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(acc)
}

/// The password grant. Unknown email and wrong password are the same
/// failure, with the same work done (a dummy hash for unknown emails).
pub async fn password_sign_in(
    services: &Services,
    email: &str,
    password: &str,
) -> AppResult<account::Model> {
    let email = email.trim().to_lowercase();
    let acc = if email.is_empty() || email.len() > validate::MAX_EMAIL {
        None
    } else {
        account::Entity::find()
            .filter(account::Column::Email.eq(email))
            .one(&services.db.conn)
            .await?
    };
    let stored = acc.as_ref().and_then(|a| a.password_hash.as_deref());
    let ok = services.hasher.verify(password, stored).await?;
    match acc {
        Some(a) if ok => Ok(a),
        _ => Err(AppError::Unauthenticated),
    }
}

/// When an account is claimed: revoke the access tokens it issued, delete
/// the service accounts it created, expire the sign-in links it minted or
/// is the target of, and tell running subscriptions in each of its
/// organizations to re-check (they compare the session epoch). Before the
/// claim its owner could not sign in, so none of it was the owner's act.
pub async fn end_provisioned_access(
    tx: &crate::db::WriteTx<'_>,
    account_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    use crate::entity::{access_token, membership, service_account};
    use crate::events::Event;
    use sea_orm::sea_query::Expr;
    use serde_json::json;
    let actor = Principal::person(account_id, false);
    let tokens = access_token::Entity::find()
        .filter(access_token::Column::IssuedByAccountId.eq(account_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .all(&**tx)
        .await?;
    for t in &tokens {
        access_token::Entity::update_many()
            .col_expr(access_token::Column::RevokedAt, Expr::value(now))
            .filter(access_token::Column::Id.eq(t.id))
            .exec(&**tx)
            .await?;
        super::tokens::record_revoke(&**tx, now, &actor, t, json!({ "via": "account.claim" }))
            .await?;
    }
    let robots = service_account::Entity::find()
        .filter(service_account::Column::CreatedByAccountId.eq(account_id))
        .all(&**tx)
        .await?;
    for sa in &robots {
        service_account::Entity::delete_by_id(sa.id)
            .exec(&**tx)
            .await?;
        audit::record(&**tx, now, audit::Event {
            organization_id: Some(sa.organization_id),
            action: "service_account.delete",
            actor: &actor,
            target_account_id: None,
            data: json!({ "serviceAccount": sa.id, "name": sa.name, "clientId": sa.client_id, "via": "account.claim" }),
        })
        .await?;
        tx.emit(Event::AccessChanged {
            organization_id: sa.organization_id,
            account_id: None,
            service_account_id: Some(sa.id),
        });
    }
    super::signin::expire_links_of(tx, &actor, None, account_id, "account.claim", now).await?;
    for m in membership::Entity::find()
        .filter(membership::Column::AccountId.eq(account_id))
        .all(&**tx)
        .await?
    {
        tx.emit(Event::AccessChanged {
            organization_id: m.organization_id,
            account_id: Some(account_id),
            service_account_id: None,
        });
    }
    Ok(())
}
