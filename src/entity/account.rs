//! `accounts` (see docs/data-model.md).

use sea_orm::entity::prelude::*;

use super::enums::AccountKind;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: AccountKind,
    #[sea_orm(column_type = "Text")]
    pub email: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub first_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub last_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub password_hash: Option<String>,
    pub is_site_admin: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the address's owner took the account (None: provisioned by an
    /// organization's admin and claimable through a mailed invitation).
    pub claimed_at: Option<DateTimeUtc>,
    /// Carried by its JWTs (`sep`); one from an older epoch is refused.
    /// Claiming the account moves it on.
    pub session_epoch: i32,
}

/// Hand-written so the secret's hash never reaches a log.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("password_hash", &"***")
            .field("is_site_admin", &self.is_site_admin)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("claimed_at", &self.claimed_at)
            .field("session_epoch", &self.session_epoch)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
    #[sea_orm(has_many = "super::seat::Entity")]
    Seat,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl Related<super::seat::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Seat.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
