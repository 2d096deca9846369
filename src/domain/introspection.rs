//! What the OAuth endpoints ask of access tokens: RFC 7662 introspection
//! by the organization's services and RFC 7009 revocation by the holder.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::tokens::{effective_expiry, record_revoke};
use super::Services;
use crate::auth::{tokens, Principal};
use crate::entity::{access_token, organization};
use crate::error::AppResult;
use crate::usage::UsageMetric;

/// What an introspecting party may learn about.
pub enum Introspector {
    SiteAdmin,
    ServiceAccountOf(Uuid),
}

pub struct Introspection {
    pub token: access_token::Model,
    pub org_handle: String,
    /// The token's expiry capped at the plan's end (what `exp` reports).
    pub expires_at: DateTime<Utc>,
}

/// RFC 7662: one statement for the token (and its organization's handle).
/// A token with a bad checksum is refused without a lookup.
pub async fn introspect(
    services: &Services,
    secret: &str,
    who: &Introspector,
) -> AppResult<Option<Introspection>> {
    if !tokens::access_token_well_formed(secret) {
        return Ok(None);
    }
    let now = services.clock.now();
    let found = access_token::Entity::find()
        .filter(access_token::Column::TokenHash.eq(tokens::sha256_hex(secret)))
        .find_also_related(organization::Entity)
        .one(&services.db.conn)
        .await?;
    let Some((t, Some(org))) = found else {
        return Ok(None);
    };
    let allowed = match who {
        Introspector::SiteAdmin => true,
        Introspector::ServiceAccountOf(o) => *o == t.organization_id,
    };
    let expires_at = effective_expiry(&t, &org);
    if !allowed || t.revoked_at.is_some() || expires_at <= now {
        return Ok(None);
    }
    services.last_used.touch(t.id, now);
    services
        .usage
        .incr(t.organization_id, UsageMetric::TokenVerifications, 1, now);
    Ok(Some(Introspection {
        token: t,
        org_handle: org.handle,
        expires_at,
    }))
}

/// RFC 7009: the holder revokes its own token. Unknown tokens are ignored.
pub async fn revoke_by_holder(services: &Services, secret: &str) -> AppResult<()> {
    if !tokens::access_token_well_formed(secret) {
        return Ok(());
    }
    let hash = tokens::sha256_hex(secret);
    let Some(t) = access_token::Entity::find()
        .filter(access_token::Column::TokenHash.eq(hash))
        .one(&services.db.conn)
        .await?
    else {
        return Ok(());
    };
    if t.revoked_at.is_some() {
        return Ok(());
    }
    let now = services.clock.now();
    let tx = services.db.write_tx().await?;
    let rows = access_token::Entity::update_many()
        .col_expr(access_token::Column::RevokedAt, Expr::value(now))
        .filter(access_token::Column::Id.eq(t.id))
        .filter(access_token::Column::RevokedAt.is_null())
        .exec(&*tx)
        .await?
        .rows_affected;
    if rows > 0 {
        let holder = Principal::person(t.account_id, false);
        record_revoke(&*tx, now, &holder, &t, json!({ "via": "oauth/revoke" })).await?;
    }
    tx.commit().await?;
    Ok(())
}
