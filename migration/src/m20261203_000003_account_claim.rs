//! Accounts an organization's admin provisioned (createUser, onboarding)
//! for an email nobody proved to own can be claimed by that email's owner
//! (red-team finding: an outsider created `newhire@…` with a password of
//! their choosing and locked the real owner out). `claimed_at` is when the
//! account's owner took it (a self-created account: at creation); while it
//! is null, accepting an invitation mailed to the address with a new
//! password claims it. `session_epoch` is carried by every person JWT
//! (`sep`); claiming bumps it, which ends every session issued before —
//! the provisioner's included.
//!
//! Existing rows: site admins count as claimed (the operator made them);
//! other accounts stay claimable, i.e. reachable by whoever receives mail
//! at their address — the same trust an emailed password reset places in it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(col("accounts"))
                .add_column(
                    ColumnDef::new(col("claimed_at"))
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(col("accounts"))
                .add_column(
                    ColumnDef::new(col("session_epoch"))
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::update()
                .table(col("accounts"))
                .value(col("claimed_at"), Expr::col(col("created_at")))
                .and_where(Expr::col(col("is_site_admin")).eq(true))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in ["session_epoch", "claimed_at"] {
            m.alter_table(
                Table::alter()
                    .table(col("accounts"))
                    .drop_column(col(c))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
