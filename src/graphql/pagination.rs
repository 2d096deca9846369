//! Relay cursor connections over the domain's keyset pages (domain/page.rs).
//! Cursors are opaque and tamper-evident: the row's id plus a truncated HMAC
//! bound to the connection kind; a forged one is BAD_USER_INPUT. This module
//! turns cursors into ids (`PageQuery::parse`) and a domain page back into a
//! connection (`connection!`).

use std::sync::Arc;

use async_graphql::SimpleObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::auth::tokens::constant_time_eq;
use crate::domain::page::{Page, PageRequest};
use crate::error::{AppError, AppResult};

pub const MAX_PAGE: i32 = 100;
pub const DEFAULT_PAGE: i32 = 100;

/// Cost of a connection for the complexity limit: the page size times the
/// cost of one node (GitHub's node-limit arithmetic), so nested connections
/// multiply. Out-of-range sizes are priced at the maximum; they are refused
/// later as BAD_USER_INPUT anyway.
pub fn connection_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
    1 + n * child.max(1)
}

#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// A page request as the API gave it: the domain's request, with the
/// cursors' key and kind to answer in.
#[derive(Clone, Debug)]
pub struct PageQuery {
    pub request: PageRequest,
    kind: &'static str,
    key: Arc<[u8; 32]>,
}

#[derive(Default, Clone, Debug)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        PageArgs {
            first,
            after,
            last,
            before,
        }
    }
}

fn tag(key: &[u8; 32], kind: &str, id: &Uuid) -> [u8; 8] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac takes any key size");
    mac.update(kind.as_bytes());
    mac.update(id.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

pub fn encode_cursor(key: &[u8; 32], kind: &str, id: Uuid) -> String {
    let mut raw = Vec::with_capacity(24);
    raw.extend_from_slice(id.as_bytes());
    raw.extend_from_slice(&tag(key, kind, &id));
    URL_SAFE_NO_PAD.encode(raw)
}

pub fn decode_cursor(key: &[u8; 32], kind: &str, cursor: &str, field: &str) -> AppResult<Uuid> {
    let bad = || AppError::bad_input(&[field], "not a valid cursor");
    if cursor.len() > 64 {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    if raw.len() != 24 {
        return Err(bad());
    }
    let id = Uuid::from_slice(&raw[..16]).map_err(|_| bad())?;
    if !constant_time_eq(&tag(key, kind, &id), &raw[16..]) {
        return Err(bad());
    }
    Ok(id)
}

impl PageQuery {
    /// Check the sizes and decode the cursors (BAD_USER_INPUT when forged).
    pub fn parse(args: &PageArgs, kind: &'static str, key: Arc<[u8; 32]>) -> AppResult<Self> {
        let check = |v: Option<i32>, f: &str| -> AppResult<Option<i32>> {
            match v {
                Some(n) if !(0..=MAX_PAGE).contains(&n) => Err(AppError::bad_input(
                    &[f],
                    format!("{f} must be 0 to {MAX_PAGE}"),
                )),
                other => Ok(other),
            }
        };
        let first = check(args.first, "first")?;
        let last = check(args.last, "last")?;
        if first.is_some() && last.is_some() {
            return Err(AppError::bad_input(
                &["last"],
                "give first or last, not both",
            ));
        }
        let after = args
            .after
            .as_deref()
            .map(|c| decode_cursor(&key, kind, c, "after"))
            .transpose()?;
        let before = args
            .before
            .as_deref()
            .map(|c| decode_cursor(&key, kind, c, "before"))
            .transpose()?;
        let (limit, backward) = match (first, last) {
            (_, Some(l)) => (l, true),
            (Some(f), None) => (f, false),
            (None, None) => (DEFAULT_PAGE, false),
        };
        Ok(PageQuery {
            request: PageRequest {
                limit: limit as u64,
                backward,
                after,
                before,
                newest_first: false,
            },
            kind,
            key,
        })
    }

    /// Page info for a page the domain read. Cursors (an HMAC each) are
    /// not computed for every row: an edge computes its own only when a
    /// query asks for it, and page info needs two.
    pub fn info<T>(&self, page: &Page<T>, id_of: impl Fn(&T) -> Uuid) -> PageInfo {
        let cursor = |r: &T| encode_cursor(&self.key, self.kind, id_of(r));
        PageInfo {
            has_next_page: page.has_next,
            has_previous_page: page.has_previous,
            start_cursor: page.rows.first().map(cursor),
            end_cursor: page.rows.last().map(cursor),
        }
    }

    /// What an edge needs to compute its cursor later.
    pub fn cursor_key(&self) -> CursorKey {
        CursorKey {
            key: self.key.clone(),
            kind: self.kind,
        }
    }
}

/// The key and kind of a page's cursors, shared by its edges.
#[derive(Clone)]
pub struct CursorKey {
    key: Arc<[u8; 32]>,
    kind: &'static str,
}

impl CursorKey {
    pub fn cursor(&self, id: Uuid) -> String {
        encode_cursor(&self.key, self.kind, id)
    }
}

/// Declares `XConnection` / `XEdge` for a node type.
#[macro_export]
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        $crate::connection!(@impl $conn, $edge, $node, &[$node]);
    };
    // Nodes that implement `plain::Plain`: `nodes` takes the plain path.
    ($conn:ident, $edge:ident, $node:ty, plain) => {
        $crate::connection!(@impl $conn, $edge, $node,
            $crate::graphql::plain::PlainList<'_, $node>);
    };
    (@impl $conn:ident, $edge:ident, $node:ty, $nodes:ty) => {
        #[derive(Clone)]
        pub struct $edge {
            id: uuid::Uuid,
            cursors: $crate::graphql::pagination::CursorKey,
            node: $node,
        }

        #[async_graphql::Object]
        impl $edge {
            async fn cursor(&self) -> String {
                self.cursors.cursor(self.id)
            }
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        pub struct $conn {
            ids: Vec<uuid::Uuid>,
            nodes: Vec<$node>,
            cursors: $crate::graphql::pagination::CursorKey,
            pub page_info: $crate::graphql::pagination::PageInfo,
            pub total: $crate::domain::page::TotalCount,
        }

        #[async_graphql::Object]
        impl $conn {
            async fn edges(&self) -> Vec<$edge> {
                self.ids
                    .iter()
                    .zip(&self.nodes)
                    .map(|(id, node)| $edge {
                        id: *id,
                        cursors: self.cursors.clone(),
                        node: node.clone(),
                    })
                    .collect()
            }
            async fn nodes(&self) -> $nodes {
                self.nodes.as_slice().into()
            }
            async fn page_info(&self) -> &$crate::graphql::pagination::PageInfo {
                &self.page_info
            }
            async fn total_count(&self) -> async_graphql::Result<i32> {
                Ok(self.total.get().await? as i32)
            }
        }

        impl $conn {
            pub fn build<T>(
                query: &$crate::graphql::pagination::PageQuery,
                page: $crate::domain::page::Page<T>,
                id_of: impl Fn(&T) -> uuid::Uuid,
                to_node: impl Fn(T) -> $node,
            ) -> Self {
                let page_info = query.info(&page, &id_of);
                let ids = page.rows.iter().map(&id_of).collect();
                $conn {
                    ids,
                    nodes: page.rows.into_iter().map(to_node).collect(),
                    cursors: query.cursor_key(),
                    page_info,
                    total: page.total,
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any string is either a valid cursor of this kind or BAD_USER_INPUT; never a panic.
        #[test]
        fn cursor_decoder_never_panics(s in ".{0,200}") {
            let key = [7u8; 32];
            let r = decode_cursor(&key, "Membership", &s, "after");
            let fine = r.is_ok() || matches!(r, Err(AppError::BadInput { .. }));
            prop_assert!(fine);
        }

        #[test]
        fn cursors_round_trip_and_are_bound_to_their_kind(bytes in any::<[u8; 16]>()) {
            let key = [9u8; 32];
            let id = Uuid::from_bytes(bytes);
            let c = encode_cursor(&key, "Membership", id);
            prop_assert_eq!(decode_cursor(&key, "Membership", &c, "after").unwrap(), id);
            prop_assert!(decode_cursor(&key, "Seat", &c, "after").is_err());
            prop_assert!(decode_cursor(&[1u8; 32], "Membership", &c, "after").is_err());
        }
    }
}
