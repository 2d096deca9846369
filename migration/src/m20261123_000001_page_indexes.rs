//! Keyset pages inside one organization read `WHERE organization_id = ?
//! ORDER BY id LIMIT n`. Without an index on (organization_id, id) both
//! databases read and sort every row of the organization for each page
//! (SQLite's plan said `USE TEMP B-TREE FOR ORDER BY`); with it a page
//! reads n rows whatever the organization's size.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const PAGED: [&str; 5] = [
    "memberships",
    "seats",
    "access_tokens",
    "invitations",
    "service_accounts",
];

fn name(table: &str) -> String {
    format!("ix_{table}_organization_id_id")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in PAGED {
            m.create_index(
                Index::create()
                    .name(name(table))
                    .table(Alias::new(table))
                    .col(Alias::new("organization_id"))
                    .col(Alias::new("id"))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in PAGED {
            m.drop_index(
                Index::drop()
                    .name(name(table))
                    .table(Alias::new(table))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
