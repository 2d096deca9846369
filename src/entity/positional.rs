//! Decoding a joined row by column position.
//!
//! sea-orm decodes a joined model column by column through its prefixed
//! name (`format!("{prefix}{column}")`, then a name lookup in the row): for
//! a members page of 100 rows × 20 columns that was 2,000 small strings and
//! lookups, about a fifth of the page's CPU (callgrind). The hot members
//! page reads the membership's columns (selected in `Column::iter()` order)
//! and the joined ones it lists by position instead. The unit test below
//! fails when the model gains a column the decoder does not read.

use super::membership;
use sea_orm::{DbErr, QueryResult};

/// Columns a membership spans in a row.
pub const MEMBERSHIP_COLUMNS: usize = 5;

/// The membership whose first column is at position `i`.
pub fn membership_at(r: &QueryResult, i: usize) -> Result<membership::Model, DbErr> {
    Ok(membership::Model {
        id: r.try_get_by_index(i)?,
        organization_id: r.try_get_by_index(i + 1)?,
        account_id: r.try_get_by_index(i + 2)?,
        role: r.try_get_by_index(i + 3)?,
        created_at: r.try_get_by_index(i + 4)?,
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// The decoder reads every column, in the order a select lists them.
    #[test]
    fn the_decoder_covers_every_column_in_select_order() {
        let names: Vec<String> = membership::Column::iter()
            .map(|c| format!("{c:?}"))
            .collect();
        assert_eq!(
            names,
            ["Id", "OrganizationId", "AccountId", "Role", "CreatedAt"]
        );
        assert_eq!(MEMBERSHIP_COLUMNS, names.len());
    }
}
