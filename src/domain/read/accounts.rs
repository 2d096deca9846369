//! Accounts as reads show them, and who sees an account and its email: the
//! account itself, site admins, and members (or service accounts) of an
//! organization it belongs to.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
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
/// column: a members page does that, for the fields its query does not
/// show (`members_page::AccountColumns`), and `viewer` reads none; both
/// only for accounts whose email the caller sees, so the whole row
/// (`whole`) may stand in for a missing field. Every other read fills
/// every field.
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

/// May the caller see this account at all (and its email)? For an account
/// a list read named (`Loaders::register_accounts`), asked of every such
/// account at once.
pub async fn can_see(c: &Caller, account_id: Uuid) -> AppResult<bool> {
    if let Some(known) = can_see_without_sql(c, account_id) {
        return Ok(known);
    }
    if let Principal::Service {
        organization_id, ..
    } = &c.principal
    {
        return Ok(c
            .loaders
            .membership(*organization_id, account_id)
            .await?
            .is_some());
    }
    if let Some(seen) = c
        .loaders
        .account_seen(account_id, |ids| can_see_many(c, ids))
        .await?
    {
        return Ok(seen);
    }
    Ok(can_see_many(c, vec![account_id])
        .await?
        .contains(&account_id))
}

/// What `can_see` answers without asking the database.
fn can_see_without_sql(c: &Caller, account_id: Uuid) -> Option<bool> {
    match &c.principal {
        Principal::Anonymous => Some(false),
        Principal::Person {
            site_admin: true, ..
        } => Some(true),
        Principal::Person { account_id: me, .. } if *me == account_id => Some(true),
        _ => None,
    }
}

/// The accounts among `ids` the caller may see, in one statement: those
/// that share an organization with the caller (the one of a sign-in link's
/// session; a service account's own).
async fn can_see_many(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashSet<Uuid>> {
    let mut seen = HashSet::new();
    let mut ask = Vec::new();
    for id in ids {
        match can_see_without_sql(c, id) {
            Some(true) => {
                seen.insert(id);
            }
            Some(false) => {}
            None => ask.push(id),
        }
    }
    if ask.is_empty() {
        return Ok(seen);
    }
    let mut shared = membership::Entity::find()
        .select_only()
        .column(membership::Column::AccountId)
        .distinct()
        .filter(membership::Column::AccountId.is_in(ask));
    match &c.principal {
        Principal::Person {
            account_id: me,
            scope,
            ..
        } => {
            if let Some(s) = scope {
                shared = shared.filter(membership::Column::OrganizationId.eq(s.organization_id));
            }
            shared = shared.filter(
                membership::Column::OrganizationId.in_subquery(super::organizations_of(*me)),
            );
        }
        Principal::Service {
            organization_id, ..
        } => {
            shared = shared.filter(membership::Column::OrganizationId.eq(*organization_id));
        }
        Principal::Anonymous => return Ok(seen),
    }
    seen.extend(shared.into_tuple::<Uuid>().all(&c.services.db.conn).await?);
    Ok(seen)
}

/// `nodes(ids:)`: the accounts the caller may see, in two statements.
pub async fn visible_many(c: &Caller, ids: Vec<Uuid>) -> AppResult<HashMap<Uuid, AccountView>> {
    let seen: Vec<Uuid> = can_see_many(c, ids).await?.into_iter().collect();
    if seen.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = account::Entity::find()
        .filter(account::Column::Id.is_in(seen))
        .all(&c.services.db.conn)
        .await?;
    c.loaders.register_accounts(rows.iter().map(|a| a.id));
    Ok(rows
        .into_iter()
        .map(|a| (a.id, AccountView::of(a, true)))
        .collect())
}

/// An account the caller reaches through a row it already sees that cannot
/// outlive the account's membership (a membership, a seat): whoever sees
/// the row sees the organization it is in, so the account with its email.
/// A row that outlives it (an access token, a seat change) names its
/// account through `named`.
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
        // Only the id: authentication has just read the account, and a
        // query that asks the viewer for its lists only (`viewer {
        // memberships … }`) needs no more; a field loads the row.
        Principal::Person { account_id, .. } => Ok(Some(AccountView::id_only(*account_id))),
    }
}

/// The whole row for a view a members page read in part (see `AccountView`).
pub async fn whole(c: &Caller, id: Uuid) -> AppResult<AccountView> {
    through_row(c, id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("account vanished")))
}
