//! An operator's correction of an account's credits: applied at once, or waiting for a
//! second operator's approval.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "adjustments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: String,
    pub bucket: String,
    /// Signed minor units: a credit is positive, a debit negative.
    pub amount_minor: i64,
    pub reason_code: String,
    pub comment: String,
    pub description: String,
    pub idempotency_key: String,
    pub status: String,
    pub requested_by: i64,
    pub requested_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub decision_note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
