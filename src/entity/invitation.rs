//! `invitations` (see docs/data-model.md).

use sea_orm::entity::prelude::*;

use super::enums::{Role, StoredInvitationStatus};

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub email: String,
    pub role: Role,
    pub status: StoredInvitationStatus,
    #[sea_orm(column_type = "Text")]
    pub token_hash: String,
    pub invited_by_account_id: Option<Uuid>,
    pub invited_by_service_account_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_sent_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub send_count: i32,
    pub responded_at: Option<DateTimeUtc>,
    pub accepted_account_id: Option<Uuid>,
}

/// Hand-written so the secret's hash never reaches a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitation")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("status", &self.status)
            .field("token_hash", &"***")
            .field("invited_by_account_id", &self.invited_by_account_id)
            .field(
                "invited_by_service_account_id",
                &self.invited_by_service_account_id,
            )
            .field("created_at", &self.created_at)
            .field("last_sent_at", &self.last_sent_at)
            .field("expires_at", &self.expires_at)
            .field("send_count", &self.send_count)
            .field("responded_at", &self.responded_at)
            .field("accepted_account_id", &self.accepted_account_id)
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
