//! Organizations: by handle or id (with the caller's role, in one
//! statement), the caller's list, and through the request's loader.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SubQueryStatement};
use sea_orm::{ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::authz::standing;
use crate::domain::page::{Page, PageRequest};
use crate::domain::{Caller, Role};
use crate::entity::{membership, organization};
use crate::error::{AppError, AppResult};

#[derive(FromQueryResult)]
struct OrgWithRole {
    #[sea_orm(nested)]
    org: organization::Model,
    viewer_role: Option<Role>,
}

/// The organizations and the caller's role in each, in one statement;
/// only those the caller may see.
async fn visible_by(
    c: &Caller,
    filter: Condition,
    one: bool,
) -> AppResult<Vec<organization::Model>> {
    let mut sel = organization::Entity::find().filter(filter);
    let viewer = c.principal.account_id().unwrap_or(Uuid::nil());
    let sub = Query::select()
        .column((Alias::new("vm"), membership::Column::Role))
        .from_as(membership::Entity, Alias::new("vm"))
        .and_where(
            Expr::col((Alias::new("vm"), membership::Column::OrganizationId))
                .equals((organization::Entity, organization::Column::Id)),
        )
        .and_where(Expr::col((Alias::new("vm"), membership::Column::AccountId)).eq(viewer))
        .to_owned();
    sel = sel.column_as(
        Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(sub))),
        "viewer_role",
    );
    let rows: Vec<OrgWithRole> = if one {
        crate::db::first::<OrgWithRole>(&c.services.db.conn, &sel.limit(1))
            .await?
            .into_iter()
            .collect()
    } else {
        sel.into_model::<OrgWithRole>()
            .all(&c.services.db.conn)
            .await?
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        c.loaders.set_viewer_role(row.org.id, row.viewer_role);
        let st = standing(c, row.org.id).await?;
        if !st.visible() {
            continue;
        }
        out.push(row.org);
    }
    c.loaders.register_organization_rows(&out);
    Ok(out)
}

/// `node(id:)`.
pub async fn by_id(c: &Caller, id: Uuid) -> AppResult<Option<organization::Model>> {
    Ok(visible_by(
        c,
        Condition::all().add(organization::Column::Id.eq(id)),
        true,
    )
    .await?
    .pop())
}

/// `nodes(ids:)`: the ones the caller may see, in one statement.
pub async fn by_ids(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, organization::Model>> {
    Ok(visible_by(
        c,
        Condition::all().add(organization::Column::Id.is_in(ids)),
        false,
    )
    .await?
    .into_iter()
    .map(|o| (o.id, o))
    .collect())
}

/// `organization(handle:)`: signed-in callers only.
pub async fn by_handle(c: &Caller, handle: String) -> AppResult<Option<organization::Model>> {
    if c.principal.is_anonymous() || handle.len() > 39 {
        return Ok(None);
    }
    Ok(visible_by(
        c,
        Condition::all().add(organization::Column::Handle.eq(handle)),
        true,
    )
    .await?
    .pop())
}

/// Organizations the caller belongs to; with `all` (site admins only)
/// every organization. A sign-in link's session and a service account see
/// only their own.
pub async fn list(
    c: &Caller,
    all: bool,
    req: &PageRequest,
) -> AppResult<Page<organization::Model>> {
    let mut sel = organization::Entity::find();
    match &c.principal {
        Principal::Anonymous => return Err(AppError::Unauthenticated),
        Principal::Person {
            site_admin,
            account_id,
            scope,
            ..
        } => {
            if all && !site_admin {
                return Err(AppError::Forbidden("all: true is for site admins"));
            }
            if let Some(s) = scope {
                sel = sel.filter(organization::Column::Id.eq(s.organization_id));
            }
            if !all {
                sel = sel.filter(
                    organization::Column::Id.in_subquery(super::organizations_of(*account_id)),
                );
            }
        }
        Principal::Service {
            organization_id, ..
        } => {
            if all {
                return Err(AppError::Forbidden("all: true is for site admins"));
            }
            sel = sel.filter(organization::Column::Id.eq(*organization_id));
        }
    }
    let page = req
        .read(&c.services.db.conn, sel, organization::Column::Id)
        .await?;
    c.loaders.register_organization_rows(&page.rows);
    Ok(page)
}

/// The organization an object belongs to, through the request's loader.
/// Callers decide visibility; an object never outlives its organization
/// (cascading deletes), so a miss reads as NOT_FOUND.
pub async fn of_row(c: &Caller, id: Uuid) -> AppResult<organization::Model> {
    c.loaders.organization(id).await?.ok_or(AppError::NotFound)
}

/// The organization of a row its reader may outlive the membership of (an
/// invitation's token holder, a message's former member): NOT_FOUND unless
/// the caller (still) sees it.
pub async fn of_row_if_visible(c: &Caller, id: Uuid) -> AppResult<organization::Model> {
    if !standing(c, id).await?.visible() {
        return Err(AppError::NotFound);
    }
    of_row(c, id).await
}

/// The caller's role here; None when not a member (site admin, service account).
pub async fn viewer_role(c: &Caller, id: Uuid) -> AppResult<Option<Role>> {
    Ok(standing(c, id).await?.role())
}
