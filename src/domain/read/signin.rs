//! Sign-in links as an organization's admins see them: who, by whom, when
//! — never the secret (only its hash is stored). Its admins (and site
//! admins) only.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::authz::standing;
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
    let sel = sign_in_token::Entity::find().filter(sign_in_token::Column::OrganizationId.eq(org));
    req.read(&c.services.db.conn, sel, sign_in_token::Column::Id)
        .await
}

/// One link, for whoever may list its organization's links.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<sign_in_token::Model>> {
    let Some(l) = sign_in_token::Entity::find_by_id(id)
        .one(&c.services.db.conn)
        .await?
    else {
        return Ok(None);
    };
    let Some(org) = l.organization_id else {
        return Ok(None);
    };
    Ok(standing(c, org).await?.person_admin().then_some(l))
}

/// Not expired by hand and before its expiry.
pub fn is_active(l: &sign_in_token::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    l.expired_at.is_none() && l.expires_at > now
}
