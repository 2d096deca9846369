//! Audit events, written inside the transaction of the change they record
//! (invariant 5): no change without its record, no record without its change.
//!
//! `data` is stored in domain terms: objects are named by their raw UUIDs.
//! The API shows the references listed in [`REFERENCES`] as global IDs
//! (graphql/audit.rs); migration m20261204_000001 rewrote rows written
//! before, which held global IDs.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::Principal;
use crate::entity::audit_event;
use crate::error::AppResult;

/// The `data` keys that name an object, and the object's kind: shown as
/// global IDs by the API. (`invitation` and `message` have always been shown
/// as raw UUIDs and stay so: the contract's clients read them that way.)
pub const REFERENCES: &[(&str, ObjectKind)] = &[
    ("token", ObjectKind::AccessToken),
    ("serviceAccount", ObjectKind::ServiceAccount),
    ("signInToken", ObjectKind::SignInToken),
    ("impersonatedBy", ObjectKind::Account),
];

/// Kinds of object an audit record can refer to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Account,
    AccessToken,
    ServiceAccount,
    SignInToken,
}

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
        map.insert("impersonatedBy".into(), json!(s.actor_account_id));
        map.insert("signInToken".into(), json!(s.link_id));
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
