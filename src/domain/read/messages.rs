//! Messages are read only by their recipients: for anyone else an inbox
//! is empty and a message is not there.

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
    let Some(me) = c.principal.account_id() else {
        return Ok(None);
    };
    let mut sel = message::Entity::find_by_id(id);
    if let Some(s) = c.principal.scope() {
        sel = sel.filter(message::Column::OrganizationId.eq(s.organization_id));
    }
    Ok(sel.filter(received_by(me)).one(&c.services.db.conn).await?)
}

/// `Account.messages`, newest first; empty unless the caller is that account.
pub async fn inbox(
    c: &Caller,
    account: Uuid,
    req: &PageRequest,
) -> AppResult<Page<message::Model>> {
    let req = req.clone().newest_first();
    let owner = c.principal.account_id() == Some(account);
    let mut sel = message::Entity::find().filter(received_by(account));
    if !owner {
        sel = sel.filter(message::Column::Id.is_null());
    }
    // A sign-in link's session reads only its organization's messages.
    if let Some(s) = c.principal.scope() {
        sel = sel.filter(message::Column::OrganizationId.eq(s.organization_id));
    }
    req.read(&c.services.db.conn, sel, message::Column::Id)
        .await
}
