//! Access tokens: an organization's admins see all of its tokens, other
//! members only their own.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::authz::standing;
use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::access_token;
use crate::error::AppResult;

/// Which tokens a list shows.
#[derive(Clone, Debug, Default)]
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
    let mut sel = access_token::Entity::find().filter(access_token::Column::OrganizationId.eq(org));
    if let Some(id) = filter.account {
        sel = sel.filter(access_token::Column::AccountId.eq(id));
    }
    if !st.admin() {
        let me = c.principal.account_id().unwrap_or(Uuid::nil());
        sel = sel.filter(access_token::Column::AccountId.eq(me));
    }
    if let Some(a) = filter.active {
        let now = c.now();
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
    req.read(&c.services.db.conn, sel, access_token::Column::Id)
        .await
}

/// `node(id:)`: for the token's owner and the organization's admins.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<access_token::Model>> {
    let Some(t) = access_token::Entity::find_by_id(id)
        .one(&c.services.db.conn)
        .await?
    else {
        return Ok(None);
    };
    let st = standing(c, t.organization_id).await?;
    let own = c.principal.account_id() == Some(t.account_id);
    Ok((st.visible() && (st.admin() || own)).then_some(t))
}

/// Neither revoked nor expired.
pub fn is_active(t: &access_token::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    t.revoked_at.is_none() && t.expires_at > now
}
