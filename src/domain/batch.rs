//! Nested reads: a field under a list is read for every parent of that
//! list in one statement (issue 16).
//!
//! A list read registers the parents its rows lead to as a `Group` (the
//! organizations of a page of memberships, the accounts of a members
//! page). When a field of one of them is resolved (`Organization.members`,
//! `Account.memberships`, `SeatPool.used`…), the read asks its group:
//! the first parent to ask runs the statement for all of them, the others
//! take their part of the answer. A field asked with the same arguments is
//! one statement per level, whatever the sizes of the lists, and no
//! batching window is waited for (the parents are known when the list is
//! read).
//!
//! Pages of many parents (`pages`) are one statement: on PostgreSQL a
//! `LATERAL` subquery per parent (each one an index scan that stops at its
//! page); on SQLite a UNION ALL of one such scan per parent, or for more
//! than 400 parents a `ROW_NUMBER() OVER (PARTITION BY parent …)` window.
//! Each parent's page is cut as if read alone (`PageRequest::finish`);
//! `totalCount` is one `GROUP BY` for all of them, on first ask.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::Mutex;
use sea_orm::sea_query::IntoColumnRef;
use sea_orm::sea_query::{
    Alias, Asterisk, ColumnRef, Expr, ExprTrait, JoinType, Order, Query, SelectStatement,
    UnionType, WindowStatement,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryResult, QueryTrait, Select,
};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::authz::{standing, Standing};
use super::page::{Page, PageRequest, TotalCount};
use super::Caller;
use crate::error::AppResult;

/// The parents one list read produced, and what was read for them.
pub struct Group {
    ids: Vec<Uuid>,
    /// Per kind of read (`TypeId` of key and value): its answers by key.
    cells: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

type Cells<K, T> = HashMap<K, Arc<OnceCell<Arc<T>>>>;

impl Group {
    pub fn new(ids: Vec<Uuid>) -> Self {
        Group {
            ids,
            cells: Mutex::new(HashMap::new()),
        }
    }

    pub fn ids(&self) -> &[Uuid] {
        &self.ids
    }

    /// Forget every answer (see `Loaders::forget`).
    pub fn forget(&self) {
        self.cells.lock().clear();
    }

    /// The answer of `load` for all the group's parents, read once per
    /// `key` (the read and its arguments) and shared by every parent.
    pub async fn once<K, T, F, Fut>(&self, key: K, load: F) -> AppResult<Arc<T>>
    where
        K: Hash + Eq + Send + Sync + 'static,
        T: Send + Sync + 'static,
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        let cell = {
            let mut all = self.cells.lock();
            let of_kind = all
                .entry(TypeId::of::<(K, T)>())
                .or_insert_with(|| Box::new(Cells::<K, T>::new()));
            let of_kind = of_kind
                .downcast_mut::<Cells<K, T>>()
                .expect("cells are stored under their own type");
            of_kind.entry(key).or_default().clone()
        };
        let ids = self.ids.clone();
        cell.get_or_try_init(|| async move { load(ids).await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// A list of rows of many parents: the rows' statement (columns, joins
/// and filters, but not the parent's), the column that names each row's
/// parent and the column pages are ordered by.
pub struct ParentList {
    pub rows: SelectStatement,
    /// The same rows without their columns and joins that only add
    /// columns: what `totalCount` counts.
    pub count: SelectStatement,
    pub parent: ColumnRef,
    pub id: ColumnRef,
}

impl ParentList {
    /// The rows of `sel` (an entity's whole rows) of many parents.
    pub fn of<E: EntityTrait>(sel: Select<E>, parent: E::Column, id: E::Column) -> Self {
        let rows = sel.into_query();
        ParentList {
            count: rows.clone(),
            rows,
            parent: (E::default(), parent).into_column_ref(),
            id: (E::default(), id).into_column_ref(),
        }
    }
}

/// A whole entity row of a page (`pages`' `decode` for `ParentList::of`).
pub fn model<M: FromQueryResult>(r: &QueryResult) -> Result<M, DbErr> {
    M::from_query_result(r, "")
}

/// `parent`'s page when it was read in a list of several (`Loaders::
/// register`): `load` reads the pages of the whole group, once per `key`.
/// None when `parent` was read alone (or is the only one of its list): a
/// page of one parent is the plain statement.
pub async fn page_in_group<K, T, F, Fut>(
    c: &Caller,
    parent: Uuid,
    req: &PageRequest,
    key: K,
    load: F,
) -> AppResult<Option<Page<T>>>
where
    K: Hash + Eq + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
    F: FnOnce(Vec<Uuid>) -> Fut,
    Fut: Future<Output = AppResult<HashMap<Uuid, Page<T>>>>,
{
    let Some(group) = c.loaders.group_of(parent) else {
        return Ok(None);
    };
    let pages = group.once(key, load).await?;
    Ok(Some(
        pages.get(&parent).cloned().unwrap_or_else(|| req.empty()),
    ))
}

/// An organization's list of `E` rows, read alone or, for an organization
/// of a list level, for the whole level in one statement (the
/// organizations where the caller's standing passes `allowed`). `sel` is
/// the rows of every organization the list's arguments let through;
/// `named` gives the accounts a row names, registered for the next level.
/// The caller has checked its own standing.
#[allow(clippy::too_many_arguments)]
pub async fn org_page<E, K>(
    c: &Caller,
    org: Uuid,
    req: &PageRequest,
    key: K,
    sel: Select<E>,
    (parent, id): (E::Column, E::Column),
    allowed: impl Fn(Standing) -> bool,
    named: impl Fn(&E::Model) -> [Option<Uuid>; 2],
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Clone + Send + Sync + 'static,
    K: Hash + Eq + Send + Sync + 'static,
{
    let register = |rows: &mut dyn Iterator<Item = &E::Model>| {
        c.loaders.register_accounts(rows.flat_map(&named).flatten());
    };
    let in_group = page_in_group(c, org, req, key, |orgs| async {
        let orgs = permitted(c, orgs, &allowed).await?;
        let list = ParentList::of(sel.clone(), parent, id);
        let pages = pages(&c.services.db.conn, list, &orgs, req, model).await?;
        register(&mut pages.values().flat_map(|p| &p.rows));
        Ok(pages)
    })
    .await?;
    if let Some(page) = in_group {
        return Ok(page);
    }
    let page = req
        .read(&c.services.db.conn, sel.filter(parent.eq(org)), id)
        .await?;
    register(&mut page.rows.iter());
    Ok(page)
}

/// `nodes(ids:)` of an organization's rows: those of `ids` whose
/// organization (`org_of`) the caller stands in so that `allowed` holds,
/// by id, in one statement (the caller's standings are one more, once per
/// request).
pub async fn visible_by_ids<E>(
    c: &Caller,
    id_col: E::Column,
    ids: Vec<Uuid>,
    id_of: impl Fn(&E::Model) -> Uuid,
    org_of: impl Fn(&E::Model) -> Option<Uuid>,
    allowed: impl Fn(Standing, &E::Model) -> bool,
) -> AppResult<HashMap<Uuid, E::Model>>
where
    E: EntityTrait,
{
    let rows = E::find()
        .filter(id_col.is_in(ids))
        .all(&c.services.db.conn)
        .await?;
    c.loaders
        .register_organizations(rows.iter().filter_map(&org_of));
    let mut out = HashMap::with_capacity(rows.len());
    for m in rows {
        let Some(org) = org_of(&m) else { continue };
        let st = standing(c, org).await?;
        if st.visible() && allowed(st, &m) {
            out.insert(id_of(&m), m);
        }
    }
    Ok(out)
}

/// The organizations among `orgs` where the caller's standing passes
/// `allowed` (the caller's standings are one statement per request, see
/// `authz`).
pub async fn permitted(
    c: &Caller,
    orgs: Vec<Uuid>,
    allowed: impl Fn(Standing) -> bool,
) -> AppResult<Vec<Uuid>> {
    let mut out = Vec::with_capacity(orgs.len());
    for o in orgs {
        let st = standing(c, o).await?;
        if st.visible() && allowed(st) {
            out.push(o);
        }
    }
    Ok(out)
}

/// The column of a page row that names its parent.
pub const PARENT: &str = "__parent";
const KEY: &str = "__key";
/// The most parents SQLite's pages take as one UNION ALL (see `pages`).
const UNION_MAX: usize = 400;

fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

/// The page of each parent in `parents` (empty pages for parents with no
/// rows), in one statement, each cut by `req` as if read alone.
pub async fn pages<T>(
    conn: &DatabaseConnection,
    list: ParentList,
    parents: &[Uuid],
    req: &PageRequest,
    decode: impl Fn(&QueryResult) -> Result<T, DbErr>,
) -> AppResult<HashMap<Uuid, Page<T>>> {
    let mut out: HashMap<Uuid, Vec<T>> = parents.iter().map(|p| (*p, Vec::new())).collect();
    if parents.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = conn.get_database_backend();
    let order = if req.ascending() {
        Order::Asc
    } else {
        Order::Desc
    };
    let mut inner = list.rows;
    inner
        .expr_as(Expr::col(list.parent.clone()), col(PARENT))
        .expr_as(Expr::col(list.id.clone()), col(KEY));
    let n = req.limit + 1;
    let query = match backend {
        DatabaseBackend::Postgres => {
            let par = col("__par");
            req.keyset(&mut inner, list.id.clone());
            inner
                .and_where(Expr::col(list.parent.clone()).equals((par.clone(), col("column1"))))
                .order_by(list.id.clone(), order.clone())
                .limit(n);
            Query::select()
                .column((col("__l"), Asterisk))
                .from_values(parents.iter().copied(), par)
                .join_lateral(JoinType::InnerJoin, inner, col("__l"), Expr::cust("TRUE"))
                .order_by((col("__l"), col(PARENT)), Order::Asc)
                .order_by((col("__l"), col(KEY)), order)
                .to_owned()
        }
        _ => {
            // SQLite has no LATERAL. The ids of each parent's page are
            // picked from the filter alone (no joins, no columns but the
            // id), then the page's columns and joins are read for those
            // rows only. Up to `UNION_MAX` parents, one index-range scan
            // with a LIMIT per parent, UNION ALL'd (on the small bench seed
            // 0.2 ms for 5 pages of 20, where the window below takes 0.9);
            // beyond (SQLite allows 500 compound terms), the window.
            let kept = if parents.len() <= UNION_MAX {
                let mut all: Option<SelectStatement> = None;
                for (i, p) in parents.iter().enumerate() {
                    let mut one = list.count.clone();
                    req.keyset(&mut one, list.id.clone());
                    one.clear_selects()
                        .expr_as(Expr::col(list.id.clone()), col("__id"))
                        .and_where(Expr::col(list.parent.clone()).eq(*p))
                        .order_by(list.id.clone(), order.clone())
                        .limit(n);
                    let one = Query::select()
                        .column(Asterisk)
                        .from_subquery(one, Alias::new(format!("__p{i}")))
                        .to_owned();
                    match &mut all {
                        None => all = Some(one),
                        Some(a) => {
                            a.union(UnionType::All, one);
                        }
                    }
                }
                all.expect("parents is not empty")
            } else {
                let mut numbered = list.count.clone();
                req.keyset(&mut numbered, list.id.clone());
                numbered
                    .clear_selects()
                    .expr_as(Expr::col(list.id.clone()), col("__id"))
                    .expr_window_as(
                        Expr::cust("ROW_NUMBER()"),
                        WindowStatement::partition_by(list.parent.clone())
                            .order_by(list.id.clone(), order.clone())
                            .to_owned(),
                        col("__rn"),
                    )
                    .and_where(Expr::col(list.parent.clone()).is_in(parents.iter().copied()));
                Query::select()
                    .column(col("__id"))
                    .from_subquery(numbered, col("__w"))
                    .and_where(Expr::col(col("__rn")).lte(n))
                    .to_owned()
            };
            inner
                .and_where(Expr::col(list.id.clone()).in_subquery(kept))
                .order_by(col(PARENT), Order::Asc)
                .order_by(col(KEY), order)
                .to_owned()
        }
    };
    let rows = conn.query_all_raw(backend.build(&query)).await?;
    for r in &rows {
        let parent: Uuid = r.try_get("", PARENT)?;
        if let Some(list) = out.get_mut(&parent) {
            list.push(decode(r)?);
        }
    }
    let counts = Counts::new(conn.clone(), list.count, list.parent, parents);
    Ok(out
        .into_iter()
        .map(|(p, rows)| (p, req.finish(rows, TotalCount::among(counts.clone(), p))))
        .collect())
}

/// Row counts of many parents, one `GROUP BY` on first ask.
pub struct Counts {
    conn: DatabaseConnection,
    query: SelectStatement,
    once: OnceCell<HashMap<Uuid, i64>>,
}

impl Counts {
    pub fn new(
        conn: DatabaseConnection,
        mut rows: SelectStatement,
        parent: ColumnRef,
        parents: &[Uuid],
    ) -> Arc<Self> {
        rows.clear_selects()
            .expr_as(Expr::col(parent.clone()), col(PARENT))
            .expr_as(Expr::cust("COUNT(*)"), col("__n"))
            .and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()))
            .group_by_col(parent);
        Arc::new(Counts {
            conn,
            query: rows,
            once: OnceCell::new(),
        })
    }

    pub async fn of(&self, parent: Uuid) -> AppResult<i64> {
        let all = self
            .once
            .get_or_try_init(|| async {
                let backend = self.conn.get_database_backend();
                let rows = self.conn.query_all_raw(backend.build(&self.query)).await?;
                rows.iter()
                    .map(|r| Ok((r.try_get::<Uuid>("", PARENT)?, r.try_get::<i64>("", "__n")?)))
                    .collect::<Result<HashMap<_, _>, DbErr>>()
            })
            .await?;
        Ok(all.get(&parent).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{
        ColumnTrait, ConnectOptions, Database, EntityTrait, QueryFilter, Statement, Value,
    };

    use super::*;
    use crate::entity::membership;

    /// A migrated in-memory database with `orgs` organizations of 0 to 6
    /// members each (one account per membership).
    async fn database(orgs: usize) -> (DatabaseConnection, Vec<Uuid>) {
        let mut opts = ConnectOptions::new("sqlite::memory:");
        opts.max_connections(1)
            .min_connections(1)
            .sqlx_logging(false);
        let conn = Database::connect(opts).await.unwrap();
        use migration::MigratorTrait;
        migration::Migrator::up(&conn, None).await.unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let run = |sql: &str, values: Vec<Value>| {
            conn.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Sqlite,
                sql,
                values,
            ))
        };
        let mut ids = Vec::new();
        for i in 0..orgs {
            let org = Uuid::now_v7();
            ids.push(org);
            run(
                "INSERT INTO organizations (id, handle, name, storage_enabled, notebooks_enabled, plan_name, seat_limit, plan_starts_on, created_at, updated_at) VALUES (?, ?, 'O', 1, 1, 'free', 5, '2026-12-01', ?, ?)",
                vec![org.into(), format!("o{i}").into(), at.into(), at.into()],
            )
            .await
            .unwrap();
            for _ in 0..(i % 7) {
                let acc = Uuid::now_v7();
                run(
                    "INSERT INTO accounts (id, kind, is_site_admin, created_at, updated_at) VALUES (?, 'MANAGED', 0, ?, ?)",
                    vec![acc.into(), at.into(), at.into()],
                )
                .await
                .unwrap();
                run(
                    "INSERT INTO memberships (id, organization_id, account_id, role, created_at) VALUES (?, ?, ?, 'MEMBER', ?)",
                    vec![Uuid::now_v7().into(), org.into(), acc.into(), at.into()],
                )
                .await
                .unwrap();
            }
        }
        (conn, ids)
    }

    /// Every parent's page of a read of many equals its page read alone,
    /// forward and backward, after a cursor, in both of SQLite's forms: a
    /// UNION ALL (up to 400 parents) and the window (more).
    #[tokio::test]
    async fn pages_of_many_parents_are_each_parents_page_alone() {
        let (conn, orgs) = database(UNION_MAX + 20).await;
        let some_row = membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(orgs[6]))
            .all(&conn)
            .await
            .unwrap()[2]
            .id;
        for parents in [&orgs[..30], &orgs[..]] {
            for (backward, after) in [(false, None), (true, None), (false, Some(some_row))] {
                let req = PageRequest {
                    limit: 3,
                    backward,
                    after,
                    before: None,
                    newest_first: false,
                };
                let list = ParentList::of(
                    membership::Entity::find(),
                    membership::Column::OrganizationId,
                    membership::Column::Id,
                );
                let many = pages(&conn, list, parents, &req, model::<membership::Model>)
                    .await
                    .unwrap();
                assert_eq!(many.len(), parents.len());
                for org in parents {
                    let alone = req
                        .read(
                            &conn,
                            membership::Entity::find()
                                .filter(membership::Column::OrganizationId.eq(*org)),
                            membership::Column::Id,
                        )
                        .await
                        .unwrap();
                    let got = &many[org];
                    let ids = |p: &Page<membership::Model>| -> Vec<Uuid> {
                        p.rows.iter().map(|m| m.id).collect()
                    };
                    assert_eq!(
                        (ids(got), got.has_next, got.has_previous),
                        (ids(&alone), alone.has_next, alone.has_previous),
                        "{} parents, backward {backward}, after {after:?}",
                        parents.len()
                    );
                    assert_eq!(
                        got.total.get().await.unwrap(),
                        alone.total.get().await.unwrap()
                    );
                }
            }
        }
    }
}
