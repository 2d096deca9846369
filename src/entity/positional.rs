//! Decoding a joined row by column position.
//!
//! sea-orm decodes a joined model column by column through its prefixed
//! name (`format!("{prefix}{column}")`, then a name lookup in the row): for
//! a members page of 100 rows × 20 columns that was 2,000 small strings and
//! lookups, about a fifth of the page's CPU (callgrind). The hot members
//! page reads the membership's columns and the joined ones it lists by
//! position instead. The unit test below fails when the model gains a
//! column the decoder does not read.

use super::membership;
use sea_orm::{DbErr, QueryResult};

/// The columns `membership_in_org_at` reads, in order: a page of one
/// organization's members need not carry the organization's id on every row.
pub const MEMBERSHIP_IN_ORG_COLUMNS: [membership::Column; 4] = [
    membership::Column::Id,
    membership::Column::AccountId,
    membership::Column::Role,
    membership::Column::CreatedAt,
];

/// A membership of `organization_id` from `MEMBERSHIP_IN_ORG_COLUMNS` at
/// positions `i..i + 4`.
pub fn membership_in_org_at(
    r: &QueryResult,
    i: usize,
    organization_id: uuid::Uuid,
) -> Result<membership::Model, DbErr> {
    Ok(membership::Model {
        id: r.try_get_by_index(i)?,
        organization_id,
        account_id: r.try_get_by_index(i + 1)?,
        role: r.try_get_by_index(i + 2)?,
        created_at: r.try_get_by_index(i + 3)?,
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// The decoder reads every column but the organization's id, which
    /// its caller knows: a column added to the model fails this test until
    /// the decoder reads it too.
    #[test]
    fn the_decoder_covers_every_column_but_the_organization() {
        let all: Vec<_> = membership::Column::iter()
            .map(|c| format!("{c:?}"))
            .filter(|c| c != "OrganizationId")
            .collect();
        let read: Vec<_> = MEMBERSHIP_IN_ORG_COLUMNS
            .iter()
            .map(|c| format!("{c:?}"))
            .collect();
        assert_eq!(read, all);
    }
}
