//! Per-request dataloaders: a page of N rows costs the same few SQL
//! statements as a page of 1. Created per request (with its `Caller`) so
//! cached rows never outlive the request or cross principals. They use
//! async-graphql's dataloader as a batching utility only: keys and values
//! are ids and rows.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use parking_lot::Mutex;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::batch::Group;
use crate::domain::Role;
use crate::entity::{account, membership, organization, seat};
use crate::error::{AppError, AppResult};

pub struct ById<E> {
    conn: DatabaseConnection,
    _e: std::marker::PhantomData<fn() -> E>,
}

macro_rules! by_id_loader {
    ($entity:ident) => {
        impl Loader<Uuid> for ById<$entity::Entity> {
            type Value = $entity::Model;
            type Error = Arc<sea_orm::DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::Id.is_in(keys.iter().copied()))
                    .all(&self.conn)
                    .await
                    .map_err(Arc::new)?;
                Ok(rows.into_iter().map(|r| (r.id, r)).collect())
            }
        }
    };
}

by_id_loader!(account);
by_id_loader!(organization);

/// Rows keyed by (organization, account): memberships and seats.
pub struct ByOrgAccount<E> {
    conn: DatabaseConnection,
    _e: std::marker::PhantomData<fn() -> E>,
}

macro_rules! by_org_account_loader {
    ($entity:ident) => {
        impl Loader<(Uuid, Uuid)> for ByOrgAccount<$entity::Entity> {
            type Value = $entity::Model;
            type Error = Arc<sea_orm::DbErr>;

            async fn load(
                &self,
                keys: &[(Uuid, Uuid)],
            ) -> Result<HashMap<(Uuid, Uuid), Self::Value>, Self::Error> {
                let orgs: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let accs: Vec<Uuid> = keys.iter().map(|k| k.1).collect();
                let rows = $entity::Entity::find()
                    .filter($entity::Column::OrganizationId.is_in(orgs))
                    .filter($entity::Column::AccountId.is_in(accs))
                    .all(&self.conn)
                    .await
                    .map_err(Arc::new)?;
                Ok(rows
                    .into_iter()
                    .map(|r| ((r.organization_id, r.account_id), r))
                    .filter(|(k, _)| keys.contains(k))
                    .collect())
            }
        }
    };
}

by_org_account_loader!(membership);
by_org_account_loader!(seat);

fn new_loader<L, K>(l: L) -> DataLoader<L, HashMapCache>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    // A 2 ms window: resolvers of a list are polled in chunks (futures'
    // FuturesUnordered yields every 32), and 1 ms sometimes split a batch.
    DataLoader::with_cache(l, tokio::spawn, HashMapCache::default())
        .delay(std::time::Duration::from_millis(2))
}

#[derive(Clone)]
pub struct Loaders(Arc<Inner>);

struct Inner {
    conn: DatabaseConnection,
    accounts: DataLoader<ById<account::Entity>, HashMapCache>,
    organizations: DataLoader<ById<organization::Entity>, HashMapCache>,
    memberships: DataLoader<ByOrgAccount<membership::Entity>, HashMapCache>,
    seats: DataLoader<ByOrgAccount<seat::Entity>, HashMapCache>,
    /// The caller's role per organization when a query already read it.
    viewer_roles: Mutex<HashMap<Uuid, Option<Role>>>,
    /// The list level each parent was first read in (`batch::Group`).
    groups: Mutex<HashMap<Uuid, Arc<Group>>>,
    /// Reads done once per request whatever the parent they are asked
    /// under (the caller's own inbox).
    request: Group,
}

fn db_err(e: Arc<sea_orm::DbErr>) -> AppError {
    AppError::internal(e)
}

impl Loaders {
    pub fn new(conn: DatabaseConnection) -> Self {
        Loaders(Arc::new(Inner {
            conn: conn.clone(),
            accounts: new_loader::<_, Uuid>(ById {
                conn: conn.clone(),
                _e: Default::default(),
            }),
            organizations: new_loader::<_, Uuid>(ById {
                conn: conn.clone(),
                _e: Default::default(),
            }),
            memberships: new_loader::<_, (Uuid, Uuid)>(ByOrgAccount {
                conn: conn.clone(),
                _e: Default::default(),
            }),
            seats: new_loader::<_, (Uuid, Uuid)>(ByOrgAccount {
                conn,
                _e: Default::default(),
            }),
            viewer_roles: Mutex::new(HashMap::new()),
            groups: Mutex::new(HashMap::new()),
            request: Group::new(Vec::new()),
        }))
    }

    // Rows of ids a list read registered are read for the whole list in
    // one statement (`batch::Group`), not through the batching window: a
    // window closes by the clock, so a busy server may split it, and the
    // statement count of a query would depend on load.

    pub async fn account(&self, id: Uuid) -> AppResult<Option<account::Model>> {
        if let Some(g) = self.group_of(id) {
            let rows = g
                .once("account rows", |ids| async move {
                    let rows = account::Entity::find()
                        .filter(account::Column::Id.is_in(ids))
                        .all(&self.0.conn)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| (r.id, r))
                        .collect::<HashMap<_, _>>())
                })
                .await?;
            return Ok(rows.get(&id).cloned());
        }
        self.0.accounts.load_one(id).await.map_err(db_err)
    }

    pub async fn organization(&self, id: Uuid) -> AppResult<Option<organization::Model>> {
        if let Some(g) = self.group_of(id).filter(|g| g.ids().len() > 1) {
            let rows = g
                .once("organization rows", |ids| async move {
                    let rows = organization::Entity::find()
                        .filter(organization::Column::Id.is_in(ids))
                        .all(&self.0.conn)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| (r.id, r))
                        .collect::<HashMap<_, _>>())
                })
                .await?;
            return Ok(rows.get(&id).cloned());
        }
        self.0.organizations.load_one(id).await.map_err(db_err)
    }

    pub async fn membership(
        &self,
        org: Uuid,
        account: Uuid,
    ) -> AppResult<Option<membership::Model>> {
        if let Some(g) = self.group_of(account) {
            let rows = g
                .once("memberships of accounts", |ids| async move {
                    let rows = membership::Entity::find()
                        .filter(membership::Column::AccountId.is_in(ids))
                        .all(&self.0.conn)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| ((r.organization_id, r.account_id), r))
                        .collect::<HashMap<_, _>>())
                })
                .await?;
            return Ok(rows.get(&(org, account)).cloned());
        }
        self.0
            .memberships
            .load_one((org, account))
            .await
            .map_err(db_err)
    }

    pub async fn seat(&self, org: Uuid, account: Uuid) -> AppResult<Option<seat::Model>> {
        if let Some(g) = self.group_of(account) {
            let rows = g
                .once("seats of accounts", |ids| async move {
                    let rows = seat::Entity::find()
                        .filter(seat::Column::AccountId.is_in(ids))
                        .all(&self.0.conn)
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| ((r.organization_id, r.account_id), r))
                        .collect::<HashMap<_, _>>())
                })
                .await?;
            return Ok(rows.get(&(org, account)).cloned());
        }
        self.0.seats.load_one((org, account)).await.map_err(db_err)
    }

    pub async fn prime_organization(&self, o: organization::Model) {
        self.0.organizations.feed_one(o.id, o).await;
    }

    pub fn viewer_role(&self, org: Uuid) -> Option<Option<Role>> {
        self.0.viewer_roles.lock().get(&org).copied()
    }

    pub fn set_viewer_role(&self, org: Uuid, role: Option<Role>) {
        self.0.viewer_roles.lock().insert(org, role);
    }

    /// Parents a list read produced (organizations, accounts): their
    /// fields are then read for all of them at once (`batch`). A parent
    /// keeps the first list it came in; a later list groups the rest.
    pub fn register(&self, ids: impl IntoIterator<Item = Uuid>) {
        let mut groups = self.0.groups.lock();
        let mut fresh: Vec<Uuid> = ids
            .into_iter()
            .filter(|id| !groups.contains_key(id))
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        if fresh.is_empty() {
            return;
        }
        let group = Arc::new(Group::new(fresh));
        for id in group.ids() {
            groups.insert(*id, group.clone());
        }
    }

    /// Reads made once per request (see `Group::once`).
    pub fn request(&self) -> &Group {
        &self.0.request
    }

    /// The list level `id` was read in (a list of one included).
    pub fn group_of(&self, id: Uuid) -> Option<Arc<Group>> {
        self.0.groups.lock().get(&id).cloned()
    }
}
