//! resendInvitations / revokeInvitations (rules.md invariant 4): per-item
//! results, one transaction per organization involved, each locked.

use std::collections::{HashMap, HashSet};

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::authz::standing_in;
use super::invitations::{finish, item_err, send, Outcome};
use super::{audit, validate, Caller};
use crate::db::lock_org;
use crate::entity::enums::StoredInvitationStatus as Stored;
use crate::entity::invitation;
use crate::error::{AppError, AppResult};

#[derive(Copy, Clone)]
pub enum Change {
    Resend,
    Revoke,
}

/// resendInvitations / revokeInvitations: per-item results, one transaction
/// per organization involved (each locked, in id order).
pub async fn change(
    c: &Caller,
    ids: Vec<AppResult<Uuid>>,
    what: Change,
) -> AppResult<Vec<Outcome>> {
    c.require_signed_in()?;
    validate::bulk_len("ids", ids.len())?;
    let wanted: Vec<Uuid> = ids
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let rows: HashMap<Uuid, invitation::Model> = invitation::Entity::find()
        .filter(invitation::Column::Id.is_in(wanted))
        .all(&c.services.db.conn)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let mut orgs: Vec<Uuid> = rows.values().map(|i| i.organization_id).collect();
    orgs.sort();
    orgs.dedup();
    let mut done: HashMap<Uuid, AppResult<invitation::Model>> = HashMap::new();
    for org_id in orgs {
        let now = c.now();
        let tx = c.write_tx().await?;
        let org = lock_org(&tx, org_id).await?;
        let st = standing_in(&*tx, &c.principal, org_id).await?;
        let mut sent = 0;
        for id in ids.iter().filter_map(|r| r.as_ref().ok()) {
            let Some(orig) = rows.get(id).filter(|i| i.organization_id == org_id) else {
                continue;
            };
            if done.contains_key(id) {
                continue;
            }
            if let Err(e) = st.require(st.admin()) {
                done.insert(*id, Err(e));
                continue;
            }
            // Re-read under the lock: a concurrent accept may have won.
            let inv = invitation::Entity::find_by_id(*id)
                .one(&*tx)
                .await?
                .unwrap_or_else(|| orig.clone());
            if inv.status != Stored::Pending {
                done.insert(*id, Err(AppError::InvitationNotPending));
                continue;
            }
            // Sending (again) an ADMIN invitation grants ADMIN: not for a
            // service account (red-team finding: it revived an expired one).
            if matches!(what, Change::Resend) {
                if let Err(e) = super::authz::may_grant(&c.principal, inv.role) {
                    done.insert(*id, Err(e));
                    continue;
                }
            }
            let send_count = inv.send_count + 1;
            let mut am: invitation::ActiveModel = inv.into();
            let (result, action) = match what {
                Change::Resend => {
                    am.send_count = Set(send_count);
                    sent += 1;
                    (
                        send(&*tx, c, &org, am, false, true).await?,
                        "invitation.resend",
                    )
                }
                Change::Revoke => {
                    am.status = Set(Stored::Revoked);
                    am.responded_at = Set(Some(now));
                    (am.update(&*tx).await?, "invitation.revoke")
                }
            };
            audit::record(
                &*tx,
                now,
                audit::Event {
                    organization_id: Some(org_id),
                    action,
                    actor: &c.principal,
                    target_account_id: None,
                    data: json!({ "invitation": result.id, "email": result.email }),
                },
            )
            .await?;
            done.insert(*id, Ok(result));
        }
        tx.commit().await?;
        finish(c, org_id, sent);
    }
    let mut seen = HashSet::new();
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(n, r)| {
            let field = ["ids".to_string(), n.to_string()];
            match r {
                Err(e) => Outcome {
                    email: String::new(),
                    result: Err(item_err(&field, e)),
                },
                Ok(id) if !seen.insert(id) => Outcome {
                    email: String::new(),
                    result: Err(AppError::BadInput {
                        message: "this id appears earlier in the same list".into(),
                        field: field.to_vec(),
                    }),
                },
                Ok(id) => {
                    let result = done.remove(&id).unwrap_or(Err(AppError::NotFound));
                    let email = match &result {
                        Ok(i) => i.email.clone(),
                        // An invisible invitation's email is not shown.
                        Err(AppError::NotFound) => String::new(),
                        Err(_) => rows.get(&id).map(|i| i.email.clone()).unwrap_or_default(),
                    };
                    Outcome { email, result }
                }
            }
        })
        .collect())
}
