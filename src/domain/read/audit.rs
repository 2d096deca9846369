//! The audit log: an organization's events and one by id. Readable by SA,
//! A and S (rules.md); B and M are FORBIDDEN.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::accounts::AccountView;
use crate::domain::authz::{standing, Standing};
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::{audit_event, service_account};
use crate::error::{AppError, AppResult};

/// An event, with its acting service account when the caller may see it
/// (person admins), loaded with the page.
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub event: audit_event::Model,
    pub service_account: Option<service_account::Model>,
}

/// Whose events a list shows, as the caller named the actor.
#[derive(Clone, Copy, Debug)]
pub enum ActorFilter {
    Account(Uuid),
    ServiceAccount(Uuid),
    /// An id of another kind: it names no actor, so nothing matches.
    NoActor,
    /// Not an id at all: BAD_USER_INPUT (after the caller's rights are
    /// checked, so a caller who may not read the log learns nothing).
    Invalid,
}

/// The acting service accounts of a page, in one statement, for callers
/// who may see service accounts.
async fn with_service_accounts(
    c: &Caller,
    st: Standing,
    rows: Vec<audit_event::Model>,
) -> AppResult<Vec<AuditRow>> {
    let wanted: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.actor_service_account_id)
        .collect();
    let mut found: HashMap<Uuid, service_account::Model> = HashMap::new();
    if st.person_admin() && !wanted.is_empty() {
        for sa in service_account::Entity::find()
            .filter(service_account::Column::Id.is_in(wanted))
            .all(&c.services.db.conn)
            .await?
        {
            found.insert(sa.id, sa);
        }
    }
    Ok(rows
        .into_iter()
        .map(|event| AuditRow {
            service_account: event
                .actor_service_account_id
                .and_then(|id| found.get(&id).cloned()),
            event,
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

/// `Organization.auditLog`, newest first; `action` is a prefix of the
/// dotted verb.
pub async fn list(
    c: &Caller,
    org: Uuid,
    req: &PageRequest,
    action: Option<String>,
    actor: Option<ActorFilter>,
) -> AppResult<Page<AuditRow>> {
    let req = req.clone().newest_first();
    let st = standing(c, org).await?;
    st.require(st.admin())?;
    let mut sel = audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(org));
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
        sel = match actor {
            ActorFilter::Account(id) => sel.filter(audit_event::Column::ActorAccountId.eq(id)),
            ActorFilter::ServiceAccount(id) => {
                sel.filter(audit_event::Column::ActorServiceAccountId.eq(id))
            }
            ActorFilter::NoActor => sel.filter(audit_event::Column::Id.eq(Uuid::nil())),
            ActorFilter::Invalid => return Err(AppError::bad_input(&["actor"], "not a valid ID")),
        };
    }
    let page = req
        .read(&c.services.db.conn, sel, audit_event::Column::Id)
        .await?;
    Ok(Page {
        rows: with_service_accounts(c, st, page.rows).await?,
        has_next: page.has_next,
        has_previous: page.has_previous,
        total: page.total,
    })
}

/// `node(id:)`: for whoever may read the organization's log.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<AuditRow>> {
    let Some(e) = audit_event::Entity::find_by_id(id)
        .one(&c.services.db.conn)
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

/// An account an event names (actor, target): its email shown when the
/// account is the caller, a member of the event's organization, or the
/// caller is a site admin.
pub async fn account(c: &Caller, e: &AuditRow, id: Option<Uuid>) -> AppResult<Option<AccountView>> {
    let Some(id) = id else { return Ok(None) };
    let Some(model) = c.loaders.account(id).await? else {
        return Ok(None);
    };
    let email_visible = c.principal.is_site_admin()
        || c.principal.account_id() == Some(id)
        || match e.event.organization_id {
            Some(org) => c.loaders.membership(org, id).await?.is_some(),
            None => false,
        };
    Ok(Some(AccountView::of(model, email_visible)))
}
