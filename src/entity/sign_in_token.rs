//! `sign_in_tokens` (see docs/data-model.md).

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub expired_at: Option<DateTimeUtc>,
    pub created_by_account_id: Option<Uuid>,
    /// The organization the link's session may act in (None: a link from
    /// before scoping, expired by the migration).
    pub organization_id: Option<Uuid>,
    pub last_used_at: Option<DateTimeUtc>,
}

/// Hand-written so the secret's hash never reaches a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInToken")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("token_hash", &"***")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("expired_at", &self.expired_at)
            .field("created_by_account_id", &self.created_by_account_id)
            .field("organization_id", &self.organization_id)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "Cascade"
    )]
    Account,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
