//! Decoding a joined row by column position.
//!
//! sea-orm decodes a joined model column by column through its prefixed
//! name (`format!("{prefix}{column}")`, then a name lookup in the row): for
//! a members page of 100 rows × 20 columns that was 2,000 small strings and
//! lookups, about a fifth of the page's CPU (callgrind). The hot
//! three-table page selects the models' columns in `Column::iter()` order and
//! reads them by position instead. The unit test below fails when a model
//! gains a column these decoders do not read.

use sea_orm::{DbErr, QueryResult};
use uuid::Uuid;

use super::{account, membership, seat};

pub trait Positional: Sized {
    /// How many columns the model spans in the row.
    const COLUMNS: usize;
    /// The model whose first column is at position `i`.
    fn at(row: &QueryResult, i: usize) -> Result<Self, DbErr>;
    /// The model of an outer join: `None` when its key (first column) is NULL.
    fn at_opt(row: &QueryResult, i: usize) -> Result<Option<Self>, DbErr> {
        match row.try_get_by_index::<Option<Uuid>>(i)? {
            None => Ok(None),
            Some(_) => Self::at(row, i).map(Some),
        }
    }
}

impl Positional for membership::Model {
    const COLUMNS: usize = 5;
    fn at(r: &QueryResult, i: usize) -> Result<Self, DbErr> {
        Ok(membership::Model {
            id: r.try_get_by_index(i)?,
            organization_id: r.try_get_by_index(i + 1)?,
            account_id: r.try_get_by_index(i + 2)?,
            role: r.try_get_by_index(i + 3)?,
            created_at: r.try_get_by_index(i + 4)?,
        })
    }
}

impl Positional for seat::Model {
    const COLUMNS: usize = 6;
    fn at(r: &QueryResult, i: usize) -> Result<Self, DbErr> {
        Ok(seat::Model {
            id: r.try_get_by_index(i)?,
            organization_id: r.try_get_by_index(i + 1)?,
            account_id: r.try_get_by_index(i + 2)?,
            assigned_at: r.try_get_by_index(i + 3)?,
            assigned_by_account_id: r.try_get_by_index(i + 4)?,
            assigned_by_service_account_id: r.try_get_by_index(i + 5)?,
        })
    }
}

impl Positional for account::Model {
    const COLUMNS: usize = 9;
    fn at(r: &QueryResult, i: usize) -> Result<Self, DbErr> {
        Ok(account::Model {
            id: r.try_get_by_index(i)?,
            kind: r.try_get_by_index(i + 1)?,
            email: r.try_get_by_index(i + 2)?,
            first_name: r.try_get_by_index(i + 3)?,
            last_name: r.try_get_by_index(i + 4)?,
            password_hash: r.try_get_by_index(i + 5)?,
            is_site_admin: r.try_get_by_index(i + 6)?,
            created_at: r.try_get_by_index(i + 7)?,
            updated_at: r.try_get_by_index(i + 8)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// The decoders read every column, in the order a select lists them.
    #[test]
    fn decoders_cover_every_column_in_select_order() {
        let names = |v: Vec<String>| v;
        assert_eq!(
            names(
                membership::Column::iter()
                    .map(|c| format!("{c:?}"))
                    .collect()
            ),
            ["Id", "OrganizationId", "AccountId", "Role", "CreatedAt"]
        );
        assert_eq!(
            names(seat::Column::iter().map(|c| format!("{c:?}")).collect()),
            [
                "Id",
                "OrganizationId",
                "AccountId",
                "AssignedAt",
                "AssignedByAccountId",
                "AssignedByServiceAccountId"
            ]
        );
        assert_eq!(
            names(account::Column::iter().map(|c| format!("{c:?}")).collect()),
            [
                "Id",
                "Kind",
                "Email",
                "FirstName",
                "LastName",
                "PasswordHash",
                "IsSiteAdmin",
                "CreatedAt",
                "UpdatedAt"
            ]
        );
        assert_eq!(
            membership::Model::COLUMNS,
            membership::Column::iter().count()
        );
        assert_eq!(seat::Model::COLUMNS, seat::Column::iter().count());
        assert_eq!(account::Model::COLUMNS, account::Column::iter().count());
    }
}
