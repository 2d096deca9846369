//! Keyset pagination on UUIDv7 ids (which are creation-ordered): what a
//! list read takes (`PageRequest`) and what it gives (`Page`). The API layer
//! turns its cursors into the ids here (graphql/pagination.rs); a read
//! never sees a cursor.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sea_orm::sea_query::{ColumnRef, Expr, ExprTrait, SelectStatement};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::AppResult;

/// One page of a list, in display order: at most `limit` rows after
/// `after` and before `before` (ids of rows of the same list), the last
/// `limit` of them when `backward`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub limit: u64,
    pub backward: bool,
    pub after: Option<Uuid>,
    pub before: Option<Uuid>,
    /// Newest first (audit log, messages) instead of oldest first; the
    /// read sets it, it is the list's order.
    pub newest_first: bool,
}

/// A page of rows and whether the list goes on either side of it.
#[derive(Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_next: bool,
    pub has_previous: bool,
    /// The whole list's length, counted only when asked for.
    pub total: TotalCount,
}

impl<T> Page<T> {
    /// The same page with each row turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            rows: self.rows.into_iter().map(f).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
            total: self.total,
        }
    }
}

impl PageRequest {
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// Whether rows are read in ascending id order (see `apply`).
    pub fn ascending(&self) -> bool {
        !self.newest_first ^ self.backward
    }

    /// The keyset filter of `apply` on a statement.
    pub fn keyset(&self, sel: &mut SelectStatement, id: ColumnRef) {
        let after_op_gt = !self.newest_first;
        if let Some(a) = self.after {
            let c = Expr::col(id.clone());
            sel.and_where(if after_op_gt { c.gt(a) } else { c.lt(a) });
        }
        if let Some(b) = self.before {
            let c = Expr::col(id);
            sel.and_where(if after_op_gt { c.lt(b) } else { c.gt(b) });
        }
    }

    /// An empty page, as a list with no rows reads.
    pub fn empty<T>(&self) -> Page<T> {
        self.finish(Vec::new(), TotalCount::known(0))
    }

    /// Keyset filter, order and limit (one extra row tells whether there is more).
    pub fn apply<E: EntityTrait>(&self, mut sel: Select<E>, id: E::Column) -> Select<E> {
        // In display order, "after" means further along.
        let (after_op_gt, asc) = (!self.newest_first, !self.newest_first ^ self.backward);
        if let Some(a) = self.after {
            sel = sel.filter(if after_op_gt { id.gt(a) } else { id.lt(a) });
        }
        if let Some(b) = self.before {
            sel = sel.filter(if after_op_gt { id.lt(b) } else { id.gt(b) });
        }
        sel = if asc {
            sel.order_by_asc(id)
        } else {
            sel.order_by_desc(id)
        };
        sel.limit(self.limit + 1)
    }

    /// Trim the look-ahead row and put the page in display order.
    pub fn finish<T>(&self, mut rows: Vec<T>, total: TotalCount) -> Page<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.backward {
            rows.reverse();
        }
        Page {
            rows,
            has_next: if self.backward {
                self.before.is_some()
            } else {
                more
            },
            has_previous: if self.backward {
                more
            } else {
                self.after.is_some()
            },
            total,
        }
    }

    /// The page of `sel` ordered by `id`, and the lazy count of all of
    /// `sel`: what most list reads are.
    pub async fn read<E>(
        &self,
        conn: &DatabaseConnection,
        sel: Select<E>,
        id: E::Column,
    ) -> AppResult<Page<E::Model>>
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        let total = TotalCount::of(conn.clone(), sel.clone());
        let rows = self.apply(sel, id).all(conn).await?;
        Ok(self.finish(rows, total))
    }
}

/// `totalCount`, computed only when a client asks for it, and once: a
/// page shared by several parents (the caller's inbox) counts once.
#[derive(Clone)]
pub struct TotalCount {
    compute: Arc<dyn Fn() -> BoxFuture<'static, AppResult<i64>> + Send + Sync>,
    value: Arc<tokio::sync::OnceCell<i64>>,
}

impl TotalCount {
    fn new(compute: Arc<dyn Fn() -> BoxFuture<'static, AppResult<i64>> + Send + Sync>) -> Self {
        TotalCount {
            compute,
            value: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    pub fn of<E>(conn: DatabaseConnection, sel: Select<E>) -> Self
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        Self::new(Arc::new(move || {
            let conn = conn.clone();
            let sel = sel.clone();
            Box::pin(async move { Ok(sel.count(&conn).await? as i64) })
        }))
    }

    /// One parent's count among many (`batch::Counts`).
    pub fn among(counts: Arc<crate::domain::batch::Counts>, parent: Uuid) -> Self {
        Self::new(Arc::new(move || {
            let counts = counts.clone();
            Box::pin(async move { counts.of(parent).await })
        }))
    }

    pub fn known(n: i64) -> Self {
        TotalCount {
            compute: Arc::new(move || Box::pin(async move { Ok(n) })),
            value: Arc::new(tokio::sync::OnceCell::new_with(Some(n))),
        }
    }

    pub async fn get(&self) -> AppResult<i64> {
        self.value
            .get_or_try_init(|| (self.compute)())
            .await
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(limit: u64, backward: bool, after: bool, before: bool) -> PageRequest {
        PageRequest {
            limit,
            backward,
            after: after.then(Uuid::now_v7),
            before: before.then(Uuid::now_v7),
            newest_first: false,
        }
    }

    #[test]
    fn finishing_trims_the_look_ahead_row_and_says_what_lies_beyond() {
        let p = req(2, false, true, false).finish(vec![1, 2, 3], TotalCount::known(3));
        assert_eq!(
            (p.rows, p.has_next, p.has_previous),
            (vec![1, 2], true, true)
        );
        let p = req(2, false, false, false).finish(vec![1, 2], TotalCount::known(2));
        assert_eq!(
            (p.rows, p.has_next, p.has_previous),
            (vec![1, 2], false, false)
        );
        // Backward: read in reverse, shown in order; "more" lies before.
        let p = req(2, true, false, true).finish(vec![3, 2, 1], TotalCount::known(3));
        assert_eq!(
            (p.rows, p.has_next, p.has_previous),
            (vec![2, 3], true, true)
        );
    }
}
