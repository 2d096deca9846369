//! messageMembers: one stored message, one recipient row per member (what
//! `Account.messages` reads), and a `message` mail to every member with an
//! email — all in one transaction with its audit event.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::authz::standing_in;
use super::{audit, validate, Caller};
use crate::db::lock_org;
use crate::entity::{account, membership, message, message_recipient};
use crate::error::{AppError, AppResult};
use crate::mail::{self, templates};

pub const MAX_SUBJECT: usize = 200;
pub const MAX_BODY: usize = 65_536;

/// 1..=max characters, not blank; a subject is one header line (no control
/// characters at all), a body may keep tabs and line breaks only.
fn check(field: &str, v: &str, max: usize, single_line: bool) -> AppResult<()> {
    let n = v.chars().count();
    if v.trim().is_empty() || n > max {
        return Err(AppError::bad_input(
            &[field],
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    if single_line {
        validate::line(field, v, max)?;
    } else {
        validate::text(field, v, max)?;
    }
    Ok(())
}

/// Returns the message and the number of members it went to (the sender,
/// when a member, included).
pub async fn message_members(
    c: &Caller,
    org_id: Uuid,
    subject: &str,
    body: &str,
) -> AppResult<(message::Model, i32)> {
    c.require_signed_in()?;
    check("subject", subject, MAX_SUBJECT, true)?;
    check("body", body, MAX_BODY, false)?;
    let subject = subject.trim().to_string();
    let now = c.now();
    let tx = c.write_tx().await?;
    let org = lock_org(&tx, org_id).await?;
    let st = standing_in(&*tx, &c.principal, org_id).await?;
    st.require(st.admin())?;
    let msg = message::Model {
        id: Uuid::now_v7(),
        organization_id: org_id,
        sender_account_id: c.principal.account_id(),
        sender_service_account_id: c.principal.service_account_id(),
        subject: subject.clone(),
        body: body.to_string(),
        sent_at: now,
    };
    message::Entity::insert(message::ActiveModel::from(msg.clone()))
        .exec_without_returning(&*tx)
        .await?;
    let members: Vec<(membership::Model, Option<account::Model>)> = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .find_also_related(account::Entity)
        .all(&*tx)
        .await?;
    for chunk in members.chunks(500) {
        message_recipient::Entity::insert_many(chunk.iter().map(|(m, _)| {
            message_recipient::ActiveModel::from(message_recipient::Model {
                message_id: msg.id,
                account_id: m.account_id,
                read_at: None,
            })
        }))
        .exec_without_returning(&*tx)
        .await?;
    }
    let mut mailed = 0;
    for (_, acc) in &members {
        if let Some(email) = acc.as_ref().and_then(|a| a.email.as_deref()) {
            mail::enqueue(
                &*tx,
                now,
                templates::message(email, &org.name, &subject, body),
            )
            .await?;
            mailed += 1;
        }
    }
    audit::record(
        &*tx,
        now,
        audit::Event {
            organization_id: Some(org_id),
            action: "message.send",
            actor: &c.principal,
            target_account_id: None,
            data: json!({ "message": msg.id, "subject": subject, "recipients": members.len(), "mailed": mailed }),
        },
    )
    .await?;
    tx.commit().await?;
    if mailed > 0 {
        c.services.mail.wake();
    }
    Ok((msg, members.len() as i32))
}
