//! The audit log: an organization's events and one by id. Readable by SA,
//! A and S (rules.md); B and M are FORBIDDEN.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use super::accounts::AccountView;
use crate::domain::authz::{standing, Standing};
use crate::domain::batch::{self, ParentList};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorFilter {
    Account(Uuid),
    ServiceAccount(Uuid),
    /// An id of another kind: it names no actor, so nothing matches.
    NoActor,
    /// Not an id at all: BAD_USER_INPUT (after the caller's rights are
    /// checked, so a caller who may not read the log learns nothing).
    Invalid,
}

/// The acting service accounts of a page (or of several organizations'
/// pages), in one statement, shown to callers who may see service accounts
/// in the event's organization (`standing_of`).
async fn with_service_accounts<F, Fut>(
    c: &Caller,
    rows: Vec<audit_event::Model>,
    standing_of: F,
) -> AppResult<Vec<AuditRow>>
where
    F: Fn(Option<Uuid>) -> Fut,
    Fut: std::future::Future<Output = AppResult<Standing>>,
{
    let mut wanted: Vec<Uuid> = Vec::new();
    for r in &rows {
        if let Some(id) = r.actor_service_account_id {
            if standing_of(r.organization_id).await?.person_admin() {
                wanted.push(id);
            }
        }
    }
    let mut found: HashMap<Uuid, service_account::Model> = HashMap::new();
    if !wanted.is_empty() {
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
    let action = action.filter(|a| !a.is_empty());
    if let Some(a) = &action {
        if a.chars().count() > 100 {
            return Err(AppError::bad_input(
                &["action"],
                "action is at most 100 characters",
            ));
        }
    }
    if matches!(actor, Some(ActorFilter::Invalid)) {
        return Err(AppError::bad_input(&["actor"], "not a valid ID"));
    }
    let key = ("audit log", req.clone(), action.clone(), actor);
    let req = &req;
    let action = &action;
    let in_group = batch::page_in_group(c, org, req, key, |orgs| async move {
        let orgs = batch::permitted(c, orgs, |st| st.admin()).await?;
        let sel = filtered(audit_event::Entity::find(), action, actor);
        let list = ParentList::of(
            sel,
            audit_event::Column::OrganizationId,
            audit_event::Column::Id,
        );
        let pages = batch::pages(&c.services.db.conn, list, &orgs, req, batch::model).await?;
        // The acting service accounts of all pages, in one statement.
        let all: Vec<audit_event::Model> = pages
            .values()
            .flat_map(|p| p.rows.iter().cloned())
            .collect();
        let mut found = HashMap::new();
        for row in with_service_accounts(c, all, |o| standing_of(c, o)).await? {
            found.insert(row.event.id, row.service_account);
        }
        Ok(pages
            .into_iter()
            .map(|(o, p)| {
                let page = p.map(|event| AuditRow {
                    service_account: found.get(&event.id).cloned().flatten(),
                    event,
                });
                (o, page)
            })
            .collect::<HashMap<_, _>>())
    })
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let sel = filtered(
        audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(org)),
        action,
        actor,
    );
    let page = req
        .read(&c.services.db.conn, sel, audit_event::Column::Id)
        .await?;
    Ok(Page {
        rows: with_service_accounts(c, page.rows, |_| async move { Ok(st) }).await?,
        has_next: page.has_next,
        has_previous: page.has_previous,
        total: page.total,
    })
}

/// `sel` narrowed by the list's arguments (checked by `list`).
fn filtered(
    mut sel: Select<audit_event::Entity>,
    action: &Option<String>,
    actor: Option<ActorFilter>,
) -> Select<audit_event::Entity> {
    if let Some(a) = action {
        sel = sel.filter(
            Expr::col((audit_event::Entity, audit_event::Column::Action))
                .like(LikeExpr::new(prefix_pattern(a)).escape('\\')),
        );
    }
    match actor {
        Some(ActorFilter::Account(id)) => sel.filter(audit_event::Column::ActorAccountId.eq(id)),
        Some(ActorFilter::ServiceAccount(id)) => {
            sel.filter(audit_event::Column::ActorServiceAccountId.eq(id))
        }
        Some(ActorFilter::NoActor) | Some(ActorFilter::Invalid) => {
            sel.filter(audit_event::Column::Id.eq(Uuid::nil()))
        }
        None => sel,
    }
}

async fn standing_of(c: &Caller, org: Option<Uuid>) -> AppResult<Standing> {
    match org {
        Some(o) => standing(c, o).await,
        None => Ok(Standing::None),
    }
}

/// `node(id:)`: for whoever may read the organization's log.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<AuditRow>> {
    Ok(visible_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the ones the caller may see, in one statement (and one
/// for their acting service accounts).
pub async fn visible_many(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, AuditRow>> {
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::Id.is_in(ids))
        .all(&c.services.db.conn)
        .await?;
    c.loaders
        .register_organizations(rows.iter().filter_map(|e| e.organization_id));
    let of = |org: Option<Uuid>| async move {
        match org {
            Some(org) => standing(c, org).await,
            None if c.principal.is_site_admin() => Ok(Standing::SiteAdmin { role: None }),
            None => Ok(Standing::None),
        }
    };
    let mut seen = Vec::new();
    for e in rows {
        let st = of(e.organization_id).await?;
        if st.visible() && st.admin() {
            seen.push(e);
        }
    }
    Ok(with_service_accounts(c, seen, of)
        .await?
        .into_iter()
        .map(|r| (r.event.id, r))
        .collect())
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
