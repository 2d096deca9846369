//! Sign-in links become impersonation sessions scoped to one organization
//! (security review, issue 14): each link records the organization it was
//! minted for and when it was last used. Links minted before this
//! migration carry no organization; they are expired here, since their
//! sessions could act in every organization of the account.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite takes a single alteration a statement.
        m.alter_table(
            Table::alter()
                .table(col("sign_in_tokens"))
                .add_column(ColumnDef::new(col("organization_id")).uuid().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(col("sign_in_tokens"))
                .add_column(
                    ColumnDef::new(col("last_used_at"))
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_sign_in_tokens_organization_id_id")
                .table(col("sign_in_tokens"))
                .col(col("organization_id"))
                .col(col("id"))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::update()
                .table(col("sign_in_tokens"))
                .value(col("expired_at"), Expr::col(col("created_at")))
                .and_where(Expr::col(col("organization_id")).is_null())
                .and_where(Expr::col(col("expired_at")).is_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_sign_in_tokens_organization_id_id")
                .table(col("sign_in_tokens"))
                .to_owned(),
        )
        .await?;
        for c in ["last_used_at", "organization_id"] {
            m.alter_table(
                Table::alter()
                    .table(col("sign_in_tokens"))
                    .drop_column(col(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
