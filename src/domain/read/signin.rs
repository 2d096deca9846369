//! Sign-in links as an organization's admins see them: who, by whom, when
//! — never the secret (only its hash is stored). Its admins (and site
//! admins) only.

use std::collections::HashMap;

use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::batch;
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
    batch::org_page(
        c,
        org,
        req,
        ("sign-in tokens", req.clone()),
        sign_in_token::Entity::find(),
        (
            sign_in_token::Column::OrganizationId,
            sign_in_token::Column::Id,
        ),
        |st| st.person_admin(),
        // Whose and by whom.
        |l| [Some(l.account_id), l.created_by_account_id],
    )
    .await
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
    batch::visible_by_ids::<sign_in_token::Entity>(
        c,
        sign_in_token::Column::Id,
        ids,
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
