//! A synchronous path for lists whose items' selected fields are all in
//! memory already ("plain" fields: the row's scalars and enums, and nested
//! objects the same statement loaded).
//!
//! async-graphql resolves every field of every list item as its own boxed
//! future inside a `FuturesUnordered` (an `Arc`'d task each): a members page
//! of 100 members with 8 fields is ~900 futures and was about half of the
//! request's instructions under callgrind (issue 8's profile). When every
//! selection under a list is a plain field — no directive, no fragment on
//! another type, no repeated response key, no field that needs the context —
//! [`PlainList`] builds the very same `Value` directly. Anything else sends
//! the whole list down async-graphql's own path, so an answer never depends
//! on which path ran; `tests/api/plain_lists.rs` checks that both give the same
//! JSON. Validation, depth and complexity limits run before execution and
//! are untouched.
//!
//! It reads the selection set through `ContextSelectionSet::item` and the
//! operation's fragments through `query_env`, the fields async-graphql's own
//! derive output uses (marked `doc(hidden)`, pinned by Cargo.lock).

use std::borrow::Cow;
use std::collections::HashMap;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, FragmentDefinition, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

use crate::domain::Caller;

/// An object some of whose fields need neither context nor I/O.
pub trait Plain {
    /// The GraphQL type name (for `__typename` and fragment conditions).
    const TYPE: &'static str;
    /// The value of one selected field, or None when the field needs the
    /// full resolver (which sends the whole list to the generic path).
    fn plain(&self, field: &Field, walk: &Walk<'_>) -> Option<Value>;
}

/// Walks selection sets with the operation's fragments at hand.
pub struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
}

impl Walk<'_> {
    /// The object's value for this selection set, as async-graphql would
    /// build it (an empty selection gives null), or None.
    pub fn object<T: Plain + ?Sized>(&self, root: &T, set: &SelectionSet) -> Option<Value> {
        let mut out = IndexMap::with_capacity(set.items.len());
        self.collect(root, set, &mut out)?;
        Some(if out.is_empty() {
            Value::Null
        } else {
            Value::Object(out)
        })
    }

    fn collect<T: Plain + ?Sized>(
        &self,
        root: &T,
        set: &SelectionSet,
        out: &mut IndexMap<Name, Value>,
    ) -> Option<()> {
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    if !f.directives.is_empty() {
                        return None;
                    }
                    let value = if f.name.node == "__typename" {
                        Value::String(T::TYPE.to_owned())
                    } else {
                        root.plain(f, self)?
                    };
                    // Repeated keys are merged by async-graphql; leave them to it.
                    if out.insert(f.response_key().node.clone(), value).is_some() {
                        return None;
                    }
                    continue;
                }
                Selection::InlineFragment(fr) => {
                    let fr = &fr.node;
                    let on = fr.type_condition.as_ref().map(|c| c.node.on.node.as_str());
                    if !fr.directives.is_empty() || on.is_some_and(|on| on != T::TYPE) {
                        return None;
                    }
                    &fr.selection_set.node
                }
                Selection::FragmentSpread(sp) => {
                    let fd = self.fragments.get(&sp.node.fragment_name.node)?;
                    if !sp.node.directives.is_empty()
                        || !fd.node.directives.is_empty()
                        || fd.node.type_condition.node.on.node != T::TYPE
                    {
                        return None;
                    }
                    &fd.node.selection_set.node
                }
            };
            self.collect(root, inner, out)?;
        }
        Some(())
    }
}

/// `[T!]!` in the schema, exactly like `&[T]`; resolved by the plain path
/// when it can be.
pub struct PlainList<'a, T>(pub &'a [T]);

impl<'a, T> From<&'a [T]> for PlainList<'a, T> {
    fn from(items: &'a [T]) -> Self {
        PlainList(items)
    }
}

impl<T: Plain + OutputType + Sync> OutputType for PlainList<'_, T> {
    fn type_name() -> Cow<'static, str> {
        <&[T] as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <&[T] as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <&[T] as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        debug_assert_eq!(T::TYPE, T::type_name());
        let walk = Walk {
            fragments: &ctx.query_env.fragments,
        };
        let set = &ctx.item.node;
        let plain: Option<Vec<Value>> = self.0.iter().map(|n| walk.object(n, set)).collect();
        if let Some(c) = ctx.data_opt::<Caller>() {
            let m = &c.services.metrics;
            match plain {
                Some(_) => m.lists_plain.inc(),
                None => m.lists_generic.inc(),
            };
        }
        match plain {
            Some(items) => Ok(Value::List(items)),
            None => resolve_list(ctx, field, self.0.iter(), Some(self.0.len())).await,
        }
    }
}
