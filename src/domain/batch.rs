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
//! page), on SQLite a `ROW_NUMBER() OVER (PARTITION BY parent …)` window.
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
    WindowStatement,
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    QueryResult, QueryTrait, Select,
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
    let Some(group) = c.loaders.group_of(parent).filter(|g| g.ids().len() > 1) else {
        return Ok(None);
    };
    let pages = group.once(key, load).await?;
    Ok(Some(
        pages.get(&parent).cloned().unwrap_or_else(|| req.empty()),
    ))
}

/// `nodes(ids:)`: the rows whose organization (`org_of`) the caller
/// stands in so that `allowed` holds, by id. Their organizations' standings
/// are one statement.
pub async fn keep_visible<M>(
    c: &Caller,
    rows: Vec<M>,
    id_of: impl Fn(&M) -> Uuid,
    org_of: impl Fn(&M) -> Option<Uuid>,
    allowed: impl Fn(Standing, &M) -> bool,
) -> AppResult<HashMap<Uuid, M>> {
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
/// `allowed` (standings of a group are one statement, see `authz`).
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
    req.keyset(&mut inner, list.id.clone());
    inner
        .expr_as(Expr::col(list.parent.clone()), col(PARENT))
        .expr_as(Expr::col(list.id.clone()), col(KEY));
    let n = req.limit + 1;
    let query = match backend {
        DatabaseBackend::Postgres => {
            let par = col("__par");
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
            inner
                .and_where(Expr::col(list.parent.clone()).is_in(parents.iter().copied()))
                .expr_window_as(
                    Expr::cust("ROW_NUMBER()"),
                    WindowStatement::partition_by(list.parent.clone())
                        .order_by(list.id.clone(), order)
                        .to_owned(),
                    col("__rn"),
                );
            Query::select()
                .column(Asterisk)
                .from_subquery(inner, col("__w"))
                .and_where(Expr::col(col("__rn")).lte(n))
                .order_by(col(PARENT), Order::Asc)
                .order_by(col("__rn"), Order::Asc)
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
