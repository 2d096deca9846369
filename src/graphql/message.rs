//! Messages in GraphQL: messageMembers, the Message node and
//! `Account.messages`. A message is read only by its recipients: for anyone
//! else `Account.messages` is an empty connection (the contract makes it
//! non-null) and `node(id:)` is null.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::account::{can_see_account, Account};
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::pagination::{Page, PageArgs, TotalCount};
use crate::connection;
use crate::domain::authz::standing;
use crate::domain::{messages, Caller};
use crate::entity::{message, message_recipient};
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Message(pub message::Model);

connection!(MessageConnection, MessageEdge, Message);

#[Object]
impl Message {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Message, self.0.id)
    }
    /// NOT_FOUND once the reader no longer belongs to the organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let c = ctx.data::<Caller>()?;
        if !standing(c, self.0.organization_id).await?.visible() {
            return Err(AppError::NotFound.into());
        }
        Organization::load(ctx, self.0.organization_id).await
    }
    async fn sender(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        let Some(id) = self.0.sender_account_id else {
            return Ok(None);
        };
        let visible = can_see_account(c, id).await?;
        Ok(c.loaders.account(id).await?.map(|model| Account {
            model: model.into(),
            email_visible: visible,
        }))
    }
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// Markdown.
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.sent_at
    }
}

/// The Message node, for its recipients only.
pub async fn node(c: &Caller, id: Uuid) -> AppResult<Option<Message>> {
    let Some(me) = c.principal.account_id() else {
        return Ok(None);
    };
    let mut sel = message::Entity::find_by_id(id);
    if let Some(s) = c.principal.scope() {
        sel = sel.filter(message::Column::OrganizationId.eq(s.organization_id));
    }
    let row = sel
        .filter(
            message::Column::Id.in_subquery(
                Query::select()
                    .column(message_recipient::Column::MessageId)
                    .from(message_recipient::Entity)
                    .and_where(message_recipient::Column::AccountId.eq(me))
                    .to_owned(),
            ),
        )
        .one(&c.state.db.conn)
        .await?;
    Ok(row.map(Message))
}

/// `Account.messages`, newest first; empty unless the caller is that account.
pub async fn inbox(c: &Caller, account_id: Uuid, args: PageArgs) -> AppResult<MessageConnection> {
    let page = Page::parse(&args, "Message", c.state.cursor_key.clone())?.newest_first();
    let owner = c.principal.account_id() == Some(account_id);
    let mut sel = message::Entity::find().filter(
        message::Column::Id.in_subquery(
            Query::select()
                .column(message_recipient::Column::MessageId)
                .from(message_recipient::Entity)
                .and_where(message_recipient::Column::AccountId.eq(account_id))
                .to_owned(),
        ),
    );
    if !owner {
        sel = sel.filter(message::Column::Id.is_null());
    }
    // A sign-in link's session reads only its organization's messages.
    if let Some(s) = c.principal.scope() {
        sel = sel.filter(message::Column::OrganizationId.eq(s.organization_id));
    }
    let total = TotalCount::of(c.state.db.conn.clone(), sel.clone());
    let rows = page
        .apply(sel, message::Column::Id)
        .all(&c.state.db.conn)
        .await?;
    Ok(MessageConnection::build(
        &page,
        rows,
        |m| m.id,
        Message,
        total,
    ))
}

#[derive(InputObject)]
pub struct MessageMembersInput {
    pub organization: ID,
    pub subject: String,
    pub body: String,
}

#[derive(SimpleObject)]
pub struct MessageMembersPayload {
    pub recipients: i32,
}

#[derive(Default)]
pub struct MessageMutations;

#[Object]
impl MessageMutations {
    async fn message_members(
        &self,
        ctx: &Context<'_>,
        input: MessageMembersInput,
    ) -> Result<MessageMembersPayload> {
        let c = ctx.data::<Caller>()?;
        let org = ids::decode(
            &input.organization,
            NodeKind::Organization,
            &["organization"],
        )?;
        let (_, recipients) =
            messages::message_members(c, org, &input.subject, &input.body).await?;
        Ok(MessageMembersPayload { recipients })
    }
}
