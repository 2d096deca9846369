//! Migrations: one file each, never edited once landed.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_init;
mod m20261123_000001_page_indexes;
mod m20261203_000001_signin_scope;
mod m20261203_000002_erase_sent_mail_bodies;
mod m20261203_000003_account_claim;
mod m20261204_000001_audit_raw_uuids;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_init::Migration),
            Box::new(m20261123_000001_page_indexes::Migration),
            Box::new(m20261203_000001_signin_scope::Migration),
            Box::new(m20261203_000002_erase_sent_mail_bodies::Migration),
            Box::new(m20261203_000003_account_claim::Migration),
            Box::new(m20261204_000001_audit_raw_uuids::Migration),
        ]
    }
}
