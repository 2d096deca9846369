//! The audit log: `Organization.auditLog` and the `AuditEvent` node (the
//! reads and who may make them: domain/read/audit.rs).

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::pagination::{PageArgs, PageQuery};
use super::service_account::ServiceAccount;
use crate::connection;
use crate::domain::read::audit::{self, ActorFilter, AuditRow};
use crate::domain::Caller;
use crate::error::AppResult;

#[derive(Clone)]
pub struct AuditEvent(pub AuditRow);

connection!(AuditEventConnection, AuditEventEdge, AuditEvent);

impl AuditEvent {
    async fn account(&self, ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        Ok(audit::account(c, &self.0, id).await?.map(Into::into))
    }
}

#[Object]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::AuditEvent, self.0.event.id)
    }
    /// Dotted verb, e.g. seat.assign, member.role_update, token.revoke.
    async fn action(&self) -> &str {
        &self.0.event.action
    }
    /// The account that acted; null when a service account acted.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        self.account(ctx, self.0.event.actor_account_id).await
    }
    /// The acting service account; null for people, for a deleted one, and
    /// for callers who may not see service accounts (service accounts).
    async fn actor_service_account(&self) -> Option<ServiceAccount> {
        self.0.service_account.clone().map(ServiceAccount)
    }
    async fn target_account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        self.account(ctx, self.0.event.target_account_id).await
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.event.occurred_at
    }
    /// What changed: before/after for role, limit and settings changes. Never a secret.
    async fn data(&self) -> serde_json::Value {
        let mut data =
            serde_json::from_str(&self.0.event.data).unwrap_or_else(|_| serde_json::json!({}));
        show_references(&mut data);
        data
    }
}

/// The actor filter as the caller gave it (a malformed ID is the domain's
/// BAD_USER_INPUT, after its checks).
fn actor_filter(actor: &ID) -> ActorFilter {
    match ids::parse(actor.as_str()) {
        Some((NodeKind::Account, id)) => ActorFilter::Account(id),
        Some((NodeKind::ServiceAccount, id)) => ActorFilter::ServiceAccount(id),
        Some(_) => ActorFilter::NoActor,
        None => ActorFilter::Invalid,
    }
}

pub async fn list(
    c: &Caller,
    org_id: Uuid,
    args: PageArgs,
    action: Option<String>,
    actor: Option<ID>,
) -> AppResult<AuditEventConnection> {
    let q = PageQuery::parse(&args, "AuditEvent", c.services.cursor_key.clone())?;
    let actor = actor.as_ref().map(actor_filter);
    let page = audit::list(c, org_id, &q.request, action, actor).await?;
    Ok(AuditEventConnection::build(
        &q,
        page,
        |e| e.event.id,
        AuditEvent,
    ))
}

/// The stored record names objects by raw UUID; the API shows the
/// references of `domain::audit::REFERENCES` as global IDs.
fn show_references(data: &mut serde_json::Value) {
    use crate::domain::audit::{ObjectKind, REFERENCES};
    let serde_json::Value::Object(map) = data else {
        return;
    };
    for (key, kind) in REFERENCES {
        let Some(v) = map.get_mut(*key) else { continue };
        let Some(uuid) = v.as_str().and_then(|s| s.parse::<Uuid>().ok()) else {
            continue;
        };
        let node = match kind {
            ObjectKind::Account => NodeKind::Account,
            ObjectKind::AccessToken => NodeKind::AccessToken,
            ObjectKind::ServiceAccount => NodeKind::ServiceAccount,
            ObjectKind::SignInToken => NodeKind::SignInToken,
        };
        *v = serde_json::Value::String(ids::encode(node, uuid).0);
    }
}
