//! Mail bodies carry the recipient's secrets (orgt_ tokens, invitation
//! links). The worker now blanks them when it marks a row sent or failed;
//! this erases the bodies of rows marked so before that release. Down is a
//! no-op: erased secrets are not coming back.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "UPDATE mail_outbox SET body_text = '', body_html = NULL \
                 WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL) \
                 AND (body_text <> '' OR body_html IS NOT NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
