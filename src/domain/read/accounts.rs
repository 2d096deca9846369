//! Accounts as reads show them, and who sees an account and its email: the
//! account itself, site admins, and members (or service accounts) of an
//! organization it belongs to.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::{AccountKind, Caller};
use crate::entity::{account, membership};
use crate::error::{AppError, AppResult};

/// What an account shows: its row without the password hash (a page of
/// members need not read or hold hashes), email already blanked for a
/// caller who may not see it.
///
/// A field is `None` when the read that built the view did not read its
/// column: only a members page does that, for the fields its query does
/// not show (`members_page::AccountColumns`), and only for accounts whose
/// email its caller sees, so the whole row (`whole`) may stand in for a
/// missing field. Every other read fills every field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    pub id: Uuid,
    pub kind: Option<AccountKind>,
    /// `Some(None)`: no email (MANAGED), or one the caller may not see.
    pub email: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub is_site_admin: Option<bool>,
    pub created_at: Option<DateTime<Utc>>,
}

impl AccountView {
    /// Only the id: what a row that points at an account knows of it.
    pub fn id_only(id: Uuid) -> Self {
        AccountView {
            id,
            kind: None,
            email: None,
            first_name: None,
            last_name: None,
            is_site_admin: None,
            created_at: None,
        }
    }

    /// The whole row, its email shown or not.
    pub fn of(m: account::Model, email_visible: bool) -> Self {
        AccountView {
            id: m.id,
            kind: Some(m.kind),
            email: Some(if email_visible { m.email } else { None }),
            first_name: Some(m.first_name),
            last_name: Some(m.last_name),
            is_site_admin: Some(m.is_site_admin),
            created_at: Some(m.created_at),
        }
    }
}

/// May the caller see this account at all (and its email)?
pub async fn can_see(c: &Caller, account_id: Uuid) -> AppResult<bool> {
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
                    membership::Column::OrganizationId.in_subquery(super::organizations_of(*me)),
                )
                .one(&c.services.db.conn)
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

/// An account the caller reaches through a row it already sees (a
/// membership, a seat, an access token, a seat change): whoever sees the
/// row sees the organization it is in, so the account with its email.
pub async fn through_row(c: &Caller, id: Uuid) -> AppResult<Option<AccountView>> {
    Ok(c.loaders
        .account(id)
        .await?
        .map(|a| AccountView::of(a, true)))
}

/// `through_row` for a row that cannot exist without its account.
pub async fn of_row(c: &Caller, id: Uuid, what: &'static str) -> AppResult<AccountView> {
    through_row(c, id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("{what} without account")))
}

/// An account a row names (who invited, sent, created, assigned): shown to
/// whoever sees the row, its email only to those who may see the account.
pub async fn named(c: &Caller, id: Option<Uuid>) -> AppResult<Option<AccountView>> {
    let Some(id) = id else { return Ok(None) };
    let visible = can_see(c, id).await?;
    Ok(c.loaders
        .account(id)
        .await?
        .map(|a| AccountView::of(a, visible)))
}

/// `node(id:)` and `account(id:)`: null unless the caller may see it.
pub async fn visible(c: &Caller, id: Uuid) -> AppResult<Option<AccountView>> {
    if !can_see(c, id).await? {
        return Ok(None);
    }
    through_row(c, id).await
}

/// The signed-in account; None for a service account.
pub async fn viewer(c: &Caller) -> AppResult<Option<AccountView>> {
    match &c.principal {
        Principal::Anonymous => Err(AppError::Unauthenticated),
        Principal::Service { .. } => Ok(None),
        Principal::Person { account_id, .. } => through_row(c, *account_id).await,
    }
}

/// The whole row for a view a members page read in part (see `AccountView`).
pub async fn whole(c: &Caller, id: Uuid) -> AppResult<AccountView> {
    through_row(c, id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("account vanished")))
}
