//! Per-request dataloaders: a page of N rows costs the same few SQL
//! statements as a page of 1. Created per request (with its `Caller`) so
//! cached rows never outlive the request or cross principals. They use
//! async-graphql's dataloader as a batching utility only: keys and values
//! are ids and rows.

use std::collections::{HashMap, HashSet};
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

/// Rows of the ids list reads registered: the first ask reads every
/// registered id not read yet, in one statement; an id nobody registered
/// goes through the dataloader.
struct Registered<T> {
    state: Mutex<RegisteredState<T>>,
    /// One read at a time: a second ask waits and finds its id read.
    reading: tokio::sync::Mutex<()>,
}

struct RegisteredState<T> {
    /// Registered, not read yet.
    pending: HashSet<Uuid, IdHash>,
    /// Registered: the row once read (None: not read yet, or no such row).
    known: HashMap<Uuid, Option<T>, IdHash>,
}

/// Hashing for maps keyed by ids the server generated: a UUIDv7's last 8
/// bytes are random, so they are the hash. SipHash (the default, which
/// resists keys chosen to collide) cost a members page 4% of its
/// instructions for the registrations of its 100 accounts; these keys
/// come from rows, never from a client.
#[derive(Clone, Copy, Default)]
pub struct IdHash;

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

#[derive(Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // A Uuid hashes as its 16 bytes (after a length, see write_usize).
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
    fn write_usize(&mut self, _: usize) {}
}

impl<T> Default for Registered<T> {
    fn default() -> Self {
        Registered {
            state: Mutex::new(RegisteredState {
                pending: HashSet::default(),
                known: HashMap::default(),
            }),
            reading: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T: Clone> Registered<T> {
    fn forget(&self) {
        let mut st = self.state.lock();
        st.pending.clear();
        st.known.clear();
    }

    fn register(&self, ids: &[Uuid]) {
        let mut st = self.state.lock();
        let st = &mut *st;
        st.known.reserve(ids.len());
        for id in ids {
            if let std::collections::hash_map::Entry::Vacant(e) = st.known.entry(*id) {
                e.insert(None);
                st.pending.insert(*id);
            }
        }
    }

    /// A row read by someone else: known, not pending.
    fn put(&self, id: Uuid, row: T) {
        let mut st = self.state.lock();
        st.pending.remove(&id);
        st.known.insert(id, Some(row));
    }

    fn has(&self, id: Uuid) -> bool {
        self.state.lock().known.contains_key(&id)
    }

    /// The row of `id` (registered), reading every pending id first if
    /// `id` is one of them.
    async fn get<F, Fut>(&self, id: Uuid, read: F) -> AppResult<Option<T>>
    where
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: std::future::Future<Output = AppResult<HashMap<Uuid, T>>>,
    {
        let known = |st: &RegisteredState<T>| st.known.get(&id).cloned().flatten();
        if let Some(row) = known(&self.state.lock()) {
            return Ok(Some(row));
        }
        // Pending, being read by another ask, or no such row: after the
        // read in progress (if any) it is one of the last two.
        let _one = self.reading.lock().await;
        let pending: Vec<Uuid> = {
            let mut st = self.state.lock();
            if !st.pending.contains(&id) {
                return Ok(known(&st));
            }
            st.pending.drain().collect()
        };
        match read(pending.clone()).await {
            Ok(rows) => {
                let mut st = self.state.lock();
                for (k, v) in rows {
                    st.known.insert(k, Some(v));
                }
                Ok(known(&st))
            }
            Err(e) => {
                // Not read: the next ask tries again.
                self.state.lock().pending.extend(pending);
                Err(e)
            }
        }
    }
}

/// The rows of `E` whose `col` is one of `ids`, keyed by `key_of`:
/// what each `Registered` reads.
async fn rows_in<E, K>(
    conn: &DatabaseConnection,
    col: E::Column,
    ids: Vec<Uuid>,
    key_of: impl Fn(&E::Model) -> Uuid,
    fold: impl Fn(&mut Option<K>, E::Model),
) -> AppResult<HashMap<Uuid, K>>
where
    E: EntityTrait,
{
    let mut out: HashMap<Uuid, Option<K>> = HashMap::new();
    for r in E::find().filter(col.is_in(ids)).all(conn).await? {
        fold(out.entry(key_of(&r)).or_default(), r);
    }
    Ok(out.into_iter().filter_map(|(k, v)| Some((k, v?))).collect())
}

fn one<T>(slot: &mut Option<T>, row: T) {
    *slot = Some(row);
}

fn push<T>(slot: &mut Option<Vec<T>>, row: T) {
    slot.get_or_insert_with(Vec::new).push(row);
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
    groups: Mutex<HashMap<Uuid, Arc<Group>, IdHash>>,
    account_rows: Registered<account::Model>,
    organization_rows: Registered<organization::Model>,
    /// Every membership and seat of a registered account.
    account_memberships: Registered<Vec<membership::Model>>,
    account_seats: Registered<Vec<seat::Model>>,
    /// Registered accounts the caller may see (`accounts::can_see`).
    accounts_seen: Registered<()>,
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
            groups: Mutex::new(HashMap::default()),
            account_rows: Registered::default(),
            organization_rows: Registered::default(),
            account_memberships: Registered::default(),
            account_seats: Registered::default(),
            accounts_seen: Registered::default(),
            request: Group::new(Vec::new()),
        }))
    }

    // Rows of ids a list read registered are read together: all the
    // registered ids not read yet, in one statement (`Registered`), not
    // through the batching window. A window closes by the clock, so a busy
    // server may split it and a query's statement count would depend on
    // load; ids registered by a list are all known before any of them is
    // asked for.

    pub async fn account(&self, id: Uuid) -> AppResult<Option<account::Model>> {
        if self.0.account_rows.has(id) {
            let conn = &self.0.conn;
            return self
                .0
                .account_rows
                .get(id, |ids| {
                    rows_in::<account::Entity, _>(conn, account::Column::Id, ids, |r| r.id, one)
                })
                .await;
        }
        self.0.accounts.load_one(id).await.map_err(db_err)
    }

    pub async fn organization(&self, id: Uuid) -> AppResult<Option<organization::Model>> {
        if self.0.organization_rows.has(id) {
            let conn = &self.0.conn;
            return self
                .0
                .organization_rows
                .get(id, |ids| {
                    rows_in::<organization::Entity, _>(
                        conn,
                        organization::Column::Id,
                        ids,
                        |r| r.id,
                        one,
                    )
                })
                .await;
        }
        self.0.organizations.load_one(id).await.map_err(db_err)
    }

    pub async fn membership(
        &self,
        org: Uuid,
        account: Uuid,
    ) -> AppResult<Option<membership::Model>> {
        if self.0.account_memberships.has(account) {
            let conn = &self.0.conn;
            let all = self
                .0
                .account_memberships
                .get(account, |ids| {
                    rows_in::<membership::Entity, _>(
                        conn,
                        membership::Column::AccountId,
                        ids,
                        |m| m.account_id,
                        push,
                    )
                })
                .await?;
            return Ok(all.and_then(|ms| ms.into_iter().find(|m| m.organization_id == org)));
        }
        self.0
            .memberships
            .load_one((org, account))
            .await
            .map_err(db_err)
    }

    /// For a registered account, whether the caller may see it, asked of
    /// every registered account not asked yet in one `seen` call (which
    /// answers the ids it may see); None for an account nobody registered.
    pub async fn account_seen<F, Fut>(&self, id: Uuid, seen: F) -> AppResult<Option<bool>>
    where
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: std::future::Future<Output = AppResult<HashSet<Uuid>>>,
    {
        if !self.0.accounts_seen.has(id) {
            return Ok(None);
        }
        let got = self
            .0
            .accounts_seen
            .get(id, |ids| async move {
                Ok(seen(ids).await?.into_iter().map(|a| (a, ())).collect())
            })
            .await?;
        Ok(Some(got.is_some()))
    }

    pub async fn seat(&self, org: Uuid, account: Uuid) -> AppResult<Option<seat::Model>> {
        if self.0.account_seats.has(account) {
            let conn = &self.0.conn;
            let all = self
                .0
                .account_seats
                .get(account, |ids| {
                    rows_in::<seat::Entity, _>(
                        conn,
                        seat::Column::AccountId,
                        ids,
                        |s| s.account_id,
                        push,
                    )
                })
                .await?;
            return Ok(all.and_then(|ss| ss.into_iter().find(|s| s.organization_id == org)));
        }
        self.0.seats.load_one((org, account)).await.map_err(db_err)
    }

    pub fn viewer_role(&self, org: Uuid) -> Option<Option<Role>> {
        self.0.viewer_roles.lock().get(&org).copied()
    }

    /// Forget every row and answer read so far: the request is about to
    /// write (a mutation), and what its payload reads after must see the
    /// write (the caller's own roles, rows, pages).
    pub fn forget(&self) {
        let i = &self.0;
        i.accounts.clear::<Uuid>();
        i.organizations.clear::<Uuid>();
        i.memberships.clear::<(Uuid, Uuid)>();
        i.seats.clear::<(Uuid, Uuid)>();
        i.viewer_roles.lock().clear();
        i.groups.lock().clear();
        i.request.forget();
        i.account_rows.forget();
        i.organization_rows.forget();
        i.account_memberships.forget();
        i.account_seats.forget();
        i.accounts_seen.forget();
    }

    pub fn set_viewer_role(&self, org: Uuid, role: Option<Role>) {
        self.0.viewer_roles.lock().insert(org, role);
    }

    /// Accounts a list read produced or named: their fields are then read
    /// for all of them at once (`batch`), and their rows with every other
    /// registered account's not yet read (`Registered`).
    pub fn register_accounts(&self, ids: impl IntoIterator<Item = Uuid>) {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        self.0.account_rows.register(&ids);
        self.0.account_memberships.register(&ids);
        self.0.account_seats.register(&ids);
        self.0.accounts_seen.register(&ids);
        self.register(ids);
    }

    /// Organizations a list read produced with their rows.
    pub fn register_organization_rows<'a>(
        &self,
        rows: impl IntoIterator<Item = &'a organization::Model>,
    ) {
        let mut ids = Vec::new();
        for r in rows {
            self.0.organization_rows.put(r.id, r.clone());
            ids.push(r.id);
        }
        self.register(ids);
    }

    /// Organizations a list read produced (see `register_accounts`).
    pub fn register_organizations(&self, ids: impl IntoIterator<Item = Uuid>) {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        self.0.organization_rows.register(&ids);
        self.register(ids);
    }

    /// The list level of each parent: it keeps the first list it came in;
    /// a later list groups the rest.
    fn register(&self, ids: Vec<Uuid>) {
        let mut groups = self.0.groups.lock();
        let mut fresh: Vec<Uuid> = ids
            .into_iter()
            .filter(|id| !groups.contains_key(id))
            .collect();
        fresh.sort_unstable();
        fresh.dedup();
        // A list of one is read by the plain statement: no group.
        if fresh.len() < 2 {
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

    /// The list level `id` was read in, when it came in a list of several.
    pub fn group_of(&self, id: Uuid) -> Option<Arc<Group>> {
        self.0.groups.lock().get(&id).cloned()
    }
}
