//! Audit events, written inside the transaction of the change they record
//! (invariant 5): no change without its record, no record without its change.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::entity::audit_event;
use crate::error::AppResult;

pub struct Event<'a> {
    pub organization_id: Option<Uuid>,
    pub action: &'static str,
    pub actor: &'a Principal,
    pub target_account_id: Option<Uuid>,
    pub data: Value,
}

pub async fn record<C: ConnectionTrait>(tx: &C, at: DateTime<Utc>, e: Event<'_>) -> AppResult<()> {
    let mut data = e.data;
    // A sign-in link's session acts as its target; the record also names
    // the admin behind it and the link (RFC 8693 `act`).
    if let (Some(s), Value::Object(map)) = (e.actor.scope(), &mut data) {
        map.insert(
            "impersonatedBy".into(),
            Value::String(
                crate::graphql::ids::encode(
                    crate::graphql::ids::NodeKind::Account,
                    s.actor_account_id,
                )
                .0,
            ),
        );
        map.insert(
            "signInToken".into(),
            Value::String(
                crate::graphql::ids::encode(crate::graphql::ids::NodeKind::SignInToken, s.link_id)
                    .0,
            ),
        );
    }
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(e.organization_id),
        action: Set(e.action.to_string()),
        actor_account_id: Set(e.actor.account_id()),
        actor_service_account_id: Set(e.actor.service_account_id()),
        target_account_id: Set(e.target_account_id),
        data: Set(data.to_string()),
        occurred_at: Set(at),
    }
    .insert(tx)
    .await?;
    Ok(())
}

/// `{"field": {"before": …, "after": …}}` for the fields that changed.
pub fn diff(pairs: &[(&str, Value, Value)]) -> Value {
    let mut map = serde_json::Map::new();
    for (name, before, after) in pairs {
        if before != after {
            map.insert(
                name.to_string(),
                serde_json::json!({ "before": before, "after": after }),
            );
        }
    }
    Value::Object(map)
}
