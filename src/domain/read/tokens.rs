//! Access tokens: an organization's admins see all of its tokens, other
//! members only their own.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch::{self, ParentList};
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::access_token;
use crate::error::AppResult;

/// Which tokens a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenFilter {
    /// Only this account's.
    pub account: Option<Uuid>,
    /// Only active (not revoked, not expired) ones, or only inactive ones.
    pub active: Option<bool>,
}

/// Whether the caller may list the organization's tokens at all (anyone
/// who sees it: `list` narrows what a non-admin sees). `list` checks it
/// too; the API asks first so that this answer comes before any complaint
/// about its arguments.
pub async fn may_list(c: &Caller, org: Uuid) -> AppResult<()> {
    standing(c, org).await?.require(true)
}

/// `Organization.accessTokens`.
pub async fn list(
    c: &Caller,
    org: Uuid,
    req: &PageRequest,
    filter: &TokenFilter,
) -> AppResult<Page<access_token::Model>> {
    let st = standing(c, org).await?;
    st.require(true)?;
    let me = c.principal.account_id().unwrap_or(Uuid::nil());
    let now = c.now();
    let key = ("access tokens", req.clone(), filter.clone());
    let in_group = batch::page_in_group(c, org, req, key, |orgs| async move {
        let seen = batch::permitted(c, orgs, |_| true).await?;
        let mut admin_of = Vec::new();
        for o in &seen {
            if standing(c, *o).await?.admin() {
                admin_of.push(*o);
            }
        }
        // Admins see all of an organization's tokens, others their own.
        let sel = filtered(access_token::Entity::find(), filter, now).filter(
            Condition::any()
                .add(access_token::Column::OrganizationId.is_in(admin_of))
                .add(access_token::Column::AccountId.eq(me)),
        );
        let list = ParentList::of(
            sel,
            access_token::Column::OrganizationId,
            access_token::Column::Id,
        );
        let pages = batch::pages(&c.services.db.conn, list, &seen, req, batch::model).await?;
        c.loaders.register_accounts(
            pages
                .values()
                .flat_map(|p| &p.rows)
                .map(|t: &access_token::Model| t.account_id),
        );
        Ok(pages)
    })
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let mut sel = filtered(
        access_token::Entity::find().filter(access_token::Column::OrganizationId.eq(org)),
        filter,
        now,
    );
    if !st.admin() {
        sel = sel.filter(access_token::Column::AccountId.eq(me));
    }
    let page = req
        .read(&c.services.db.conn, sel, access_token::Column::Id)
        .await?;
    c.loaders
        .register_accounts(page.rows.iter().map(|t| t.account_id));
    Ok(page)
}

/// `sel` narrowed by the list's arguments.
fn filtered(
    mut sel: Select<access_token::Entity>,
    filter: &TokenFilter,
    now: chrono::DateTime<chrono::Utc>,
) -> Select<access_token::Entity> {
    if let Some(id) = filter.account {
        sel = sel.filter(access_token::Column::AccountId.eq(id));
    }
    if let Some(a) = filter.active {
        sel = sel.filter(if a {
            Condition::all()
                .add(access_token::Column::RevokedAt.is_null())
                .add(access_token::Column::ExpiresAt.gt(now))
        } else {
            Condition::any()
                .add(access_token::Column::RevokedAt.is_not_null())
                .add(access_token::Column::ExpiresAt.lte(now))
        });
    }
    sel
}

/// `node(id:)`: for the token's owner and the organization's admins.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<access_token::Model>> {
    Ok(visible_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the ones the caller may see, in one statement.
pub async fn visible_many(
    c: &Caller,
    ids: Vec<Uuid>,
) -> AppResult<HashMap<Uuid, access_token::Model>> {
    let me = c.principal.account_id();
    batch::visible_by_ids::<access_token::Entity>(
        c,
        access_token::Column::Id,
        ids,
        |t| t.id,
        |t| Some(t.organization_id),
        |st, t| st.admin() || me == Some(t.account_id),
    )
    .await
}

/// Neither revoked nor expired.
pub fn is_active(t: &access_token::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    t.revoked_at.is_none() && t.expires_at > now
}
