//! Account objects. Email is visible to the account itself, site admins and
//! members (or service accounts) of an organization it belongs to.

use std::borrow::Cow;

use async_graphql::parser::types::Field;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Context, Object, Result, ScalarType, SelectionField, Value, ID};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::enums::AccountKind;
use super::ids::{self, NodeKind};
use super::member::{Membership, MembershipConnection};
use super::pagination::{Page, PageArgs, TotalCount};
use super::plain::{Plain, Walk};
use crate::auth::Principal;
use crate::domain::Caller;
use crate::entity::{account, membership};
use crate::error::AppResult;

/// What an Account object shows: the row without its password hash, so a
/// page of members need not read (or hold) hashes.
#[derive(Clone)]
pub struct AccountView {
    pub id: Uuid,
    pub kind: crate::domain::AccountKind,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_site_admin: bool,
    pub created_at: DateTime<Utc>,
    /// Which of the fields above were read; the others hold placeholders.
    /// Only a members page reads fewer than all (see `AccountCols`):
    /// `AccountRow` then sends the list down the resolvers' path, and the
    /// `Account` object loads the row for a field it lacks (`Account::view`).
    pub loaded: AccountCols,
}

/// A set of an account's own columns (`id` aside, which every row that
/// points at an account carries). Each value a row carries costs a copy, an
/// allocation and a free in the driver, so a members page reads only the
/// columns its query shows (issue 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountCols(u8);

impl AccountCols {
    pub const NONE: Self = Self(0);
    pub const KIND: Self = Self(1);
    pub const EMAIL: Self = Self(1 << 1);
    pub const FIRST_NAME: Self = Self(1 << 2);
    pub const LAST_NAME: Self = Self(1 << 3);
    pub const IS_SITE_ADMIN: Self = Self(1 << 4);
    pub const CREATED_AT: Self = Self(1 << 5);
    pub const ALL: Self = Self((1 << 6) - 1);

    pub fn has(self, c: Self) -> bool {
        self.0 & c.0 == c.0
    }

    pub fn with(self, c: Self) -> Self {
        Self(self.0 | c.0)
    }

    /// The columns the `Account` fields in `fields` show. `id` comes with
    /// the row that points at the account, and the connections load their
    /// own rows; a field this does not name needs every column, so a field
    /// added later is never answered from a column nobody read.
    pub fn shown_by<'a>(fields: impl IntoIterator<Item = SelectionField<'a>>) -> Self {
        fields
            .into_iter()
            .fold(Self::NONE, |acc, f| acc.with(Self::of_field(f.name())))
    }

    /// The column one `Account` field shows.
    pub fn of_field(name: &str) -> Self {
        match name {
            "id" | "__typename" | "messages" | "memberships" => Self::NONE,
            "kind" => Self::KIND,
            "email" => Self::EMAIL,
            "firstName" => Self::FIRST_NAME,
            "lastName" => Self::LAST_NAME,
            "isSiteAdmin" => Self::IS_SITE_ADMIN,
            "createdAt" => Self::CREATED_AT,
            _ => Self::ALL,
        }
    }
}

impl From<account::Model> for AccountView {
    fn from(m: account::Model) -> Self {
        AccountView {
            id: m.id,
            kind: m.kind,
            email: m.email,
            first_name: m.first_name,
            last_name: m.last_name,
            is_site_admin: m.is_site_admin,
            created_at: m.created_at,
            loaded: AccountCols::ALL,
        }
    }
}

#[derive(Clone)]
pub struct Account {
    pub model: AccountView,
    /// Decided by whoever built this object from what the caller may see.
    pub email_visible: bool,
}

impl Account {
    pub fn visible(model: impl Into<AccountView>) -> Self {
        Account {
            model: model.into(),
            email_visible: true,
        }
    }
}

/// May the caller see this account at all (and its email)?
pub async fn can_see_account(c: &Caller, account_id: Uuid) -> AppResult<bool> {
    match &c.principal {
        Principal::Anonymous => Ok(false),
        Principal::Person {
            site_admin: true, ..
        } => Ok(true),
        Principal::Person { account_id: me, .. } if *me == account_id => Ok(true),
        Principal::Person {
            account_id: me,
            scope,
            ..
        } => {
            let mut shared =
                membership::Entity::find().filter(membership::Column::AccountId.eq(account_id));
            if let Some(s) = scope {
                shared = shared.filter(membership::Column::OrganizationId.eq(s.organization_id));
            }
            let shared = shared
                .filter(
                    membership::Column::OrganizationId.in_subquery(
                        Query::select()
                            .column(membership::Column::OrganizationId)
                            .from(membership::Entity)
                            .and_where(membership::Column::AccountId.eq(*me))
                            .to_owned(),
                    ),
                )
                .one(&c.state.db.conn)
                .await?;
            Ok(shared.is_some())
        }
        Principal::Service {
            organization_id, ..
        } => Ok(c
            .loaders
            .membership(*organization_id, account_id)
            .await?
            .is_some()),
    }
}

/// An account on the plain path (see `plain`): the same values as the
/// resolvers below for the fields that need no context and whose column
/// the view holds (any other sends the list down the resolvers' path).
pub struct AccountRow<'a> {
    pub view: &'a AccountView,
    pub email_visible: bool,
}

impl Plain for AccountRow<'_> {
    const TYPE: &'static str = "Account";

    fn plain(&self, field: &Field, _: &Walk<'_>) -> Option<Value> {
        let text =
            |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
        let v = self.view;
        let name = field.name.node.as_str();
        if !v.loaded.has(AccountCols::of_field(name)) {
            return None;
        }
        Some(match name {
            "id" => Value::String(ids::encode(NodeKind::Account, v.id).0),
            "kind" => enum_value(AccountKind::from(v.kind)),
            "email" if self.email_visible => text(&v.email),
            "email" => Value::Null,
            "firstName" => text(&v.first_name),
            "lastName" => text(&v.last_name),
            "isSiteAdmin" => Value::Boolean(v.is_site_admin),
            "createdAt" => v.created_at.to_value(),
            _ => return None,
        })
    }
}

impl Account {
    /// The view, when it holds `col`; else the whole row through the
    /// request's loader. Only a members page builds views that lack
    /// columns, and only those its query does not show (`AccountCols`), so
    /// the loader runs only if that look-ahead ever misses a field.
    async fn view(&self, ctx: &Context<'_>, col: AccountCols) -> Result<Cow<'_, AccountView>> {
        if self.model.loaded.has(col) {
            return Ok(Cow::Borrowed(&self.model));
        }
        let c = ctx.data::<Caller>()?;
        let row =
            c.loaders.account(self.model.id).await?.ok_or_else(|| {
                crate::error::AppError::internal(anyhow::anyhow!("account vanished"))
            })?;
        Ok(Cow::Owned(row.into()))
    }
}

#[Object]
impl Account {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Account, self.model.id)
    }
    async fn kind(&self, ctx: &Context<'_>) -> Result<AccountKind> {
        Ok(self.view(ctx, AccountCols::KIND).await?.kind.into())
    }
    /// Null for MANAGED accounts.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        if !self.email_visible {
            return Ok(None);
        }
        Ok(self.view(ctx, AccountCols::EMAIL).await?.email.clone())
    }
    async fn first_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self
            .view(ctx, AccountCols::FIRST_NAME)
            .await?
            .first_name
            .clone())
    }
    async fn last_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self
            .view(ctx, AccountCols::LAST_NAME)
            .await?
            .last_name
            .clone())
    }
    async fn is_site_admin(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self
            .view(ctx, AccountCols::IS_SITE_ADMIN)
            .await?
            .is_site_admin)
    }
    async fn created_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(self.view(ctx, AccountCols::CREATED_AT).await?.created_at)
    }
    /// In-app messages sent to this account (see messageMembers); only the account itself reads them.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::message::MessageConnection> {
        let c = ctx.data::<Caller>()?;
        Ok(
            super::message::inbox(c, self.model.id, PageArgs::new(first, after, last, before))
                .await?,
        )
    }
    /// The account's memberships in organizations the caller can see.
    #[graphql(
        complexity = "crate::graphql::pagination::connection_cost(first, last, child_complexity)"
    )]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<MembershipConnection> {
        let c = ctx.data::<Caller>()?;
        let page = Page::parse(
            &PageArgs::new(first, after, last, before),
            "Membership",
            c.state.cursor_key.clone(),
        )?;
        let mut sel =
            membership::Entity::find().filter(membership::Column::AccountId.eq(self.model.id));
        match &c.principal {
            Principal::Person { scope: Some(s), .. } => {
                sel = sel.filter(membership::Column::OrganizationId.eq(s.organization_id));
            }
            Principal::Person {
                site_admin: true, ..
            } => {}
            Principal::Person { account_id, .. } if *account_id == self.model.id => {}
            Principal::Person { account_id, .. } => {
                sel = sel.filter(
                    membership::Column::OrganizationId.in_subquery(
                        Query::select()
                            .column(membership::Column::OrganizationId)
                            .from(membership::Entity)
                            .and_where(membership::Column::AccountId.eq(*account_id))
                            .to_owned(),
                    ),
                );
            }
            Principal::Service {
                organization_id, ..
            } => {
                sel = sel.filter(membership::Column::OrganizationId.eq(*organization_id));
            }
            Principal::Anonymous => {
                sel = sel.filter(membership::Column::Id.is_null());
            }
        }
        let total = TotalCount::of(c.state.db.conn.clone(), sel.clone());
        let rows = page
            .apply(sel, membership::Column::Id)
            .all(&c.state.db.conn)
            .await?;
        Ok(MembershipConnection::build(
            &page,
            rows,
            |m| m.id,
            |m| Membership::new(m, None),
            total,
        ))
    }
}
