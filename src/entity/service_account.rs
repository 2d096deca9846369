//! `service_accounts` (see docs/data-model.md).

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub client_id: String,
    #[sea_orm(column_type = "Text")]
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub created_by_account_id: Option<Uuid>,
    pub last_used_at: Option<DateTimeUtc>,
    pub secret_rotated_at: Option<DateTimeUtc>,
}

/// Hand-written so the secret's hash never reaches a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("secret_hash", &"***")
            .field("created_at", &self.created_at)
            .field("created_by_account_id", &self.created_by_account_id)
            .field("last_used_at", &self.last_used_at)
            .field("secret_rotated_at", &self.secret_rotated_at)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
