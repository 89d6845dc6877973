//! One change of an account's plan (or a renewal), with what it charged and why.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plan_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: String,
    pub kind: String,
    pub from_plan_id: Option<i64>,
    pub to_plan_id: i64,
    pub amount_minor: i64,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    pub reason: String,
    pub actor: String,
    pub idempotency_key: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
