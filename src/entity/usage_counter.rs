//! `usage_counters` (see docs/data-model.md).

use sea_orm::entity::prelude::*;

use super::enums::UsageMetric;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel, Debug)]
#[sea_orm(table_name = "usage_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: UsageMetric,
    pub value: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
