//! An account's plan and its current period. Written only under the account's lock.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    pub plan_id: i64,
    pub anchor: DateTimeUtc,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    pub scheduled_plan_id: Option<i64>,
    pub grace_until: Option<DateTimeUtc>,
    pub retry_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
