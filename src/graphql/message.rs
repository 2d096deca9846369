//! Messages in GraphQL: messageMembers, the Message node and
//! `Account.messages`. A message is read only by its recipients: for anyone
//! else `Account.messages` is an empty connection (the contract makes it
//! non-null) and `node(id:)` is null.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::account::Account;
use super::ids::{self, NodeKind};
use super::organization::Organization;
use super::pagination::{PageArgs, PageQuery};
use crate::connection;
use crate::domain::read::{accounts, messages as read, organizations};
use crate::domain::{messages, Caller};
use crate::entity::message;
use crate::error::AppResult;

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
        let org = organizations::of_row_if_visible(c, self.0.organization_id).await?;
        Ok(Organization(org))
    }
    async fn sender(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let c = ctx.data::<Caller>()?;
        let by = self.0.sender_account_id;
        Ok(accounts::named(c, by).await?.map(Into::into))
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

/// `Account.messages`, newest first; empty unless the caller is that account.
pub async fn inbox(c: &Caller, account_id: Uuid, args: PageArgs) -> AppResult<MessageConnection> {
    let q = PageQuery::parse(&args, "Message", c.services.cursor_key.clone())?;
    let page = read::inbox(c, account_id, &q.request).await?;
    Ok(MessageConnection::build(&q, page, |m| m.id, Message))
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
