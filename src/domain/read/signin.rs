//! Sign-in links as an organization's admins see them: who, by whom, when
//! — never the secret (only its hash is stored). Its admins (and site
//! admins) only.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch::{self, ParentList};
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::sign_in_token;
use crate::error::AppResult;

/// `Organization.signInTokens`.
pub async fn list(
    c: &Caller,
    org: Uuid,
    req: &PageRequest,
) -> AppResult<Page<sign_in_token::Model>> {
    let st = standing(c, org).await?;
    st.require(st.person_admin())?;
    let in_group = batch::page_in_group(
        c,
        org,
        req,
        ("sign-in tokens", req.clone()),
        |orgs| async move {
            let orgs = batch::permitted(c, orgs, |st| st.person_admin()).await?;
            let list = ParentList::of(
                sign_in_token::Entity::find(),
                sign_in_token::Column::OrganizationId,
                sign_in_token::Column::Id,
            );
            let pages = batch::pages(&c.services.db.conn, list, &orgs, req, batch::model).await?;
            register_named(c, pages.values().flat_map(|p| &p.rows));
            Ok(pages)
        },
    )
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let sel = sign_in_token::Entity::find().filter(sign_in_token::Column::OrganizationId.eq(org));
    let page = req
        .read(&c.services.db.conn, sel, sign_in_token::Column::Id)
        .await?;
    register_named(c, &page.rows);
    Ok(page)
}

/// The accounts a page of links names (whose and by whom).
fn register_named<'a>(c: &Caller, rows: impl IntoIterator<Item = &'a sign_in_token::Model>) {
    c.loaders.register_accounts(
        rows.into_iter()
            .flat_map(|l| [Some(l.account_id), l.created_by_account_id])
            .flatten(),
    );
}

/// One link, for whoever may list its organization's links.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<sign_in_token::Model>> {
    Ok(visible_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the ones the caller may see, in one statement.
pub async fn visible_many(
    c: &Caller,
    ids: Vec<Uuid>,
) -> AppResult<HashMap<Uuid, sign_in_token::Model>> {
    let rows = sign_in_token::Entity::find()
        .filter(sign_in_token::Column::Id.is_in(ids))
        .all(&c.services.db.conn)
        .await?;
    batch::keep_visible(
        c,
        rows,
        |m| m.id,
        |l| l.organization_id,
        |st, _| st.person_admin(),
    )
    .await
}

/// Not expired by hand and before its expiry.
pub fn is_active(l: &sign_in_token::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    l.expired_at.is_none() && l.expires_at > now
}
