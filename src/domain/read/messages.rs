//! Messages are read only by their recipients: for anyone else an inbox
//! is empty and a message is not there.

use std::collections::HashMap;

use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::page::{Page, PageRequest};
use crate::domain::Caller;
use crate::entity::{message, message_recipient};
use crate::error::AppResult;

/// `message_id IN (SELECT message_id FROM message_recipients WHERE account_id = account)`.
fn received_by(account: Uuid) -> SimpleExpr {
    message::Column::Id.in_subquery(
        Query::select()
            .column(message_recipient::Column::MessageId)
            .from(message_recipient::Entity)
            .and_where(message_recipient::Column::AccountId.eq(account))
            .to_owned(),
    )
}

/// `node(id:)`, for its recipients only.
pub async fn node(c: &Caller, id: Uuid) -> AppResult<Option<message::Model>> {
    Ok(node_many(c, vec![id]).await?.remove(&id))
}

/// `nodes(ids:)`: the caller's own, in one statement.
pub async fn node_many(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, message::Model>> {
    let Some(me) = c.principal.account_id() else {
        return Ok(HashMap::new());
    };
    let mut sel = message::Entity::find().filter(message::Column::Id.is_in(ids));
    if let Some(s) = c.principal.scope() {
        sel = sel.filter(message::Column::OrganizationId.eq(s.organization_id));
    }
    let rows = sel.filter(received_by(me)).all(&c.services.db.conn).await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// `Account.messages`, newest first; empty unless the caller is that account.
pub async fn inbox(
    c: &Caller,
    account: Uuid,
    req: &PageRequest,
) -> AppResult<Page<message::Model>> {
    let req = req.clone().newest_first();
    // Only one account of a list can be the caller's: another's inbox is
    // empty without a statement, so a list of accounts reads one inbox.
    if c.principal.account_id() != Some(account) {
        return Ok(req.empty());
    }
    // The caller's account may come up under every parent of a list
    // (a member of each organization listed): its inbox is read once.
    let inbox = c
        .loaders
        .request()
        .once(("inbox", req.clone()), |_| async {
            let mut sel = message::Entity::find().filter(received_by(account));
            // A sign-in link's session reads only its organization's messages.
            if let Some(s) = c.principal.scope() {
                sel = sel.filter(message::Column::OrganizationId.eq(s.organization_id));
            }
            let page = req
                .read(&c.services.db.conn, sel, message::Column::Id)
                .await?;
            c.loaders
                .register_accounts(page.rows.iter().filter_map(|m| m.sender_account_id));
            Ok(page)
        })
        .await?;
    Ok((*inbox).clone())
}
