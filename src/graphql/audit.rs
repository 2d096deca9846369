//! The audit log: `Organization.auditLog` and the `AuditEvent` node.
//! Readable by SA, A and S (rules.md); B and M are FORBIDDEN.

use std::collections::HashMap;

use async_graphql::{Context, Object, Result, ID};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::pagination::{Page, PageArgs, TotalCount};
use super::service_account::ServiceAccount;
use crate::connection;
use crate::domain::authz::{standing, Standing};
use crate::domain::Caller;
use crate::entity::{audit_event, service_account};
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct AuditEvent {
    pub model: audit_event::Model,
    /// The acting service account when the caller may see it (person
    /// admins), loaded with the page.
    pub service_account: Option<service_account::Model>,
}

connection!(AuditEventConnection, AuditEventEdge, AuditEvent);

/// Accounts named by an event: email shown when the account is the caller,
/// a member of the event's organization, or the caller is a site admin.
async fn account_of(c: &Caller, org: Option<Uuid>, id: Option<Uuid>) -> Result<Option<Account>> {
    let Some(id) = id else { return Ok(None) };
    let Some(model) = c.loaders.account(id).await? else {
        return Ok(None);
    };
    let email_visible = c.principal.is_site_admin()
        || c.principal.account_id() == Some(id)
        || match org {
            Some(org) => c.loaders.membership(org, id).await?.is_some(),
            None => false,
        };
    Ok(Some(Account {
        model: model.into(),
        email_visible,
    }))
}

#[Object]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::AuditEvent, self.model.id)
    }
    /// Dotted verb, e.g. seat.assign, member.role_update, token.revoke.
    async fn action(&self) -> &str {
        &self.model.action
    }
    /// The account that acted; null when a service account acted.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        account_of(c, self.model.organization_id, self.model.actor_account_id).await
    }
    /// The acting service account; null for people, for a deleted one, and
    /// for callers who may not see service accounts (service accounts).
    async fn actor_service_account(&self) -> Option<ServiceAccount> {
        self.service_account.clone().map(ServiceAccount)
    }
    async fn target_account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        account_of(c, self.model.organization_id, self.model.target_account_id).await
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.model.occurred_at
    }
    /// What changed: before/after for role, limit and settings changes. Never a secret.
    async fn data(&self) -> serde_json::Value {
        serde_json::from_str(&self.model.data).unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// The acting service accounts of a page, in one statement, for callers
/// who may see service accounts.
async fn with_service_accounts(
    c: &Caller,
    st: Standing,
    rows: Vec<audit_event::Model>,
) -> AppResult<Vec<AuditEvent>> {
    let wanted: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.actor_service_account_id)
        .collect();
    let mut found: HashMap<Uuid, service_account::Model> = HashMap::new();
    if st.person_admin() && !wanted.is_empty() {
        for sa in service_account::Entity::find()
            .filter(service_account::Column::Id.is_in(wanted))
            .all(&c.state.db.conn)
            .await?
        {
            found.insert(sa.id, sa);
        }
    }
    Ok(rows
        .into_iter()
        .map(|model| AuditEvent {
            service_account: model
                .actor_service_account_id
                .and_then(|id| found.get(&id).cloned()),
            model,
        })
        .collect())
}

/// `prefix%` with LIKE's wildcards escaped.
fn prefix_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

pub async fn list(
    c: &Caller,
    org_id: Uuid,
    args: PageArgs,
    action: Option<String>,
    actor: Option<ID>,
) -> AppResult<AuditEventConnection> {
    let page = Page::parse(&args, "AuditEvent", c.state.cursor_key.clone())?.newest_first();
    let st = standing(c, org_id).await?;
    st.require(st.admin())?;
    let mut sel =
        audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(org_id));
    if let Some(a) = action.filter(|a| !a.is_empty()) {
        if a.chars().count() > 100 {
            return Err(AppError::bad_input(
                &["action"],
                "action is at most 100 characters",
            ));
        }
        sel = sel.filter(
            Expr::col((audit_event::Entity, audit_event::Column::Action))
                .like(LikeExpr::new(prefix_pattern(&a)).escape('\\')),
        );
    }
    if let Some(actor) = actor {
        sel = match ids::parse(actor.as_str()) {
            Some((NodeKind::Account, id)) => sel.filter(audit_event::Column::ActorAccountId.eq(id)),
            Some((NodeKind::ServiceAccount, id)) => {
                sel.filter(audit_event::Column::ActorServiceAccountId.eq(id))
            }
            // An ID of another kind names no actor: nothing matches.
            Some(_) => sel.filter(audit_event::Column::Id.eq(Uuid::nil())),
            None => return Err(AppError::bad_input(&["actor"], "not a valid ID")),
        };
    }
    let total = TotalCount::of(c.state.db.conn.clone(), sel.clone());
    let rows = page
        .apply(sel, audit_event::Column::Id)
        .all(&c.state.db.conn)
        .await?;
    let events = with_service_accounts(c, st, rows).await?;
    Ok(AuditEventConnection::build(
        &page,
        events,
        |e| e.model.id,
        |e| e,
        total,
    ))
}

/// For node(id:): visible to whoever may read the organization's log.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<AuditEvent>> {
    let Some(e) = audit_event::Entity::find_by_id(id)
        .one(&c.state.db.conn)
        .await?
    else {
        return Ok(None);
    };
    let st = match e.organization_id {
        Some(org) => standing(c, org).await?,
        None if c.principal.is_site_admin() => Standing::SiteAdmin { role: None },
        None => Standing::None,
    };
    if !(st.visible() && st.admin()) {
        return Ok(None);
    }
    Ok(with_service_accounts(c, st, vec![e]).await?.pop())
}
