//! The members page's API side (the read is domain/read/members_page.rs):
//! which columns a query shows, read ahead from its selection, and the
//! plain path (`plain`) for its rows, their seats and accounts. The fields
//! either side knows are named once, in the tables below; the resolvers
//! answer the same fields in the generic path (tests/api/plain_lists.rs holds
//! both paths to the same JSON, and the test below the names to the
//! schema).

use async_graphql::parser::types::Field;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{Lookahead, ScalarType, SelectionField, Value};

use super::enums::Role;
use super::ids::{self, NodeKind};
use super::member::Membership;
use super::plain::{Plain, Walk};
use crate::domain::read::accounts::AccountView;
use crate::domain::read::members_page::{
    AccountColumn, AccountColumns, MemberColumns, SeatColumns,
};
use crate::domain::read::seats::SeatView;

/// Declares an enum of a GraphQL type's fields with their names.
macro_rules! fields {
    ($(#[$m:meta])* $name:ident: $type:literal { $($v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum $name {
            $($v),*
        }

        impl $name {
            /// The GraphQL type.
            #[cfg(test)]
            const TYPE: &'static str = $type;
            #[cfg(test)]
            const ALL: &'static [$name] = &[$($name::$v),*];

            #[cfg_attr(not(test), allow(dead_code))]
            fn name(self) -> &'static str {
                match self {
                    $($name::$v => $s),*
                }
            }

            fn of(name: &str) -> Option<Self> {
                match name {
                    $($s => Some($name::$v),)*
                    _ => None,
                }
            }
        }
    };
}

fields!(
    /// The fields of Membership a page looks ahead into or answers plainly.
    MembershipField: "Membership" {
        Id = "id",
        Role = "role",
        JoinedAt = "joinedAt",
        Seat = "seat",
        Account = "account",
    }
);

fields!(
    /// The fields of Seat; a seat whose query shows only `assignedAt` and
    /// `__typename` is read as `SeatView::AssignedAt`.
    SeatField: "Seat" {
        Typename = "__typename",
        AssignedAt = "assignedAt",
    }
);

fields!(
    /// The fields of Account that need no column beyond its id, or one
    /// (`column`); any other field needs every column, so a field added
    /// later is never answered from a column nobody read.
    AccountField: "Account" {
        Typename = "__typename",
        Id = "id",
        Kind = "kind",
        Email = "email",
        FirstName = "firstName",
        LastName = "lastName",
        IsSiteAdmin = "isSiteAdmin",
        CreatedAt = "createdAt",
        // Connections: they read their own rows.
        Messages = "messages",
        Memberships = "memberships",
    }
);

impl AccountField {
    /// The column the field shows, if any.
    fn column(self) -> Option<AccountColumn> {
        Some(match self {
            AccountField::Kind => AccountColumn::Kind,
            AccountField::Email => AccountColumn::Email,
            AccountField::FirstName => AccountColumn::FirstName,
            AccountField::LastName => AccountColumn::LastName,
            AccountField::IsSiteAdmin => AccountColumn::IsSiteAdmin,
            AccountField::CreatedAt => AccountColumn::CreatedAt,
            AccountField::Typename
            | AccountField::Id
            | AccountField::Messages
            | AccountField::Memberships => return None,
        })
    }
}

/// The connection's fields its rows are under.
const NODES: &str = "nodes";
const EDGES: &str = "edges";
const NODE: &str = "node";

/// What a members page's query shows of each row's seat and account, read
/// ahead from its selection under `nodes` and `edges { node }` (fragments
/// included, whatever their type condition, so it errs towards reading
/// more).
pub fn columns_shown_by(members: &Lookahead<'_>) -> MemberColumns {
    let rows = [members.field(NODES), members.field(EDGES).field(NODE)];
    // Whether the field is selected under a row, and the fields selected
    // under it.
    let under = |f: MembershipField| {
        let fields: Vec<_> = rows
            .iter()
            .flat_map(|r| r.field(f.name()).selection_fields())
            .collect();
        let inner: Vec<_> = fields.iter().flat_map(|f| f.selection_set()).collect();
        (!fields.is_empty(), inner)
    };
    let (seat, seat_fields) = under(MembershipField::Seat);
    let (account, account_fields) = under(MembershipField::Account);
    MemberColumns {
        seat: if !seat {
            SeatColumns::None
        } else if seat_fields.iter().all(|f| {
            matches!(
                SeatField::of(f.name()),
                Some(SeatField::AssignedAt | SeatField::Typename)
            )
        }) {
            SeatColumns::AssignedAt
        } else {
            SeatColumns::Whole
        },
        account: account.then(|| account_columns(account_fields)),
    }
}

/// The columns the `Account` fields in `fields` show.
fn account_columns<'a>(fields: impl IntoIterator<Item = SelectionField<'a>>) -> AccountColumns {
    let mut set = AccountColumns::default();
    for f in fields {
        match AccountField::of(f.name()) {
            Some(known) => {
                if let Some(c) = known.column() {
                    set.insert(c);
                }
            }
            None => return AccountColumns::all(),
        }
    }
    set
}

/// The same values as the resolvers, for the fields that need no loader;
/// `organization`, and `seat` or `account` when the row did not read them,
/// need the resolvers.
impl Plain for Membership {
    const TYPE: &'static str = "Membership";

    fn plain(&self, field: &Field, walk: &Walk<'_>) -> Option<Value> {
        let m = &self.0.membership;
        Some(match MembershipField::of(field.name.node.as_str())? {
            MembershipField::Id => Value::String(ids::encode(NodeKind::Membership, m.id).0),
            MembershipField::Role => enum_value(Role::from(m.role)),
            MembershipField::JoinedAt => m.created_at.to_value(),
            MembershipField::Seat => match self.0.seat.as_ref()? {
                None => Value::Null,
                Some(s) => walk.object(s, &field.selection_set.node)?,
            },
            MembershipField::Account => {
                walk.object(self.0.account.as_deref()?, &field.selection_set.node)?
            }
        })
    }
}

/// `assignedAt`; the accounts need loaders.
impl Plain for SeatView {
    const TYPE: &'static str = "Seat";

    fn plain(&self, field: &Field, _: &Walk<'_>) -> Option<Value> {
        match SeatField::of(field.name.node.as_str())? {
            SeatField::AssignedAt => Some(self.assigned_at().to_value()),
            SeatField::Typename => None,
        }
    }
}

/// The fields whose column the view holds (the view's email is already
/// what the caller may see).
impl Plain for AccountView {
    const TYPE: &'static str = "Account";

    fn plain(&self, field: &Field, _: &Walk<'_>) -> Option<Value> {
        let text =
            |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| Value::String(s.clone()));
        Some(match AccountField::of(field.name.node.as_str())? {
            AccountField::Id => Value::String(ids::encode(NodeKind::Account, self.id).0),
            AccountField::Kind => enum_value(super::enums::AccountKind::from(self.kind?)),
            AccountField::Email => text(self.email.as_ref()?),
            AccountField::FirstName => text(self.first_name.as_ref()?),
            AccountField::LastName => text(self.last_name.as_ref()?),
            AccountField::IsSiteAdmin => Value::Boolean(self.is_site_admin?),
            AccountField::CreatedAt => self.created_at?.to_value(),
            AccountField::Typename | AccountField::Messages | AccountField::Memberships => {
                return None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of `ty` in the schema.
    fn schema_fields(sdl: &str, ty: &str) -> Vec<String> {
        let start = sdl
            .find(&format!("type {ty} "))
            .unwrap_or_else(|| panic!("type {ty} in the schema"));
        let body = &sdl[start..];
        let body = &body[body.find('{').unwrap() + 1..body.find("\n}").unwrap()];
        body.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('"'))
            .map(|l| l.split([':', '(']).next().unwrap().to_string())
            .collect()
    }

    /// Every name the tables spell is a field of its type: a renamed field
    /// fails here, not by silently leaving the plain path.
    #[test]
    fn the_tables_name_fields_of_the_schema() {
        let sdl = crate::graphql::sdl();
        let check = |ty: &str, names: Vec<&str>| {
            let known = schema_fields(&sdl, ty);
            for n in names.into_iter().filter(|n| *n != "__typename") {
                assert!(known.iter().any(|k| k == n), "{ty}.{n} not in {known:?}");
            }
        };
        check(
            MembershipField::TYPE,
            MembershipField::ALL.iter().map(|f| f.name()).collect(),
        );
        check(
            SeatField::TYPE,
            SeatField::ALL.iter().map(|f| f.name()).collect(),
        );
        check(
            AccountField::TYPE,
            AccountField::ALL.iter().map(|f| f.name()).collect(),
        );
        for f in AccountField::ALL {
            assert_eq!(AccountField::of(f.name()), Some(*f));
        }
        // The connection fields the look-ahead reads rows under.
        let conn = schema_fields(&sdl, "MembershipConnection");
        assert!(conn.iter().any(|f| f == NODES) && conn.iter().any(|f| f == EDGES));
        assert!(schema_fields(&sdl, "MembershipEdge")
            .iter()
            .any(|f| f == NODE));
    }
}
