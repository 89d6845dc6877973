//! The reversal of one charged-back top-up: requested, then applied (what it took back,
//! what the account owed and still owes), rejected, or reinstated by a won dispute.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reversals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub payment_id: i64,
    pub account_id: String,
    pub amount_minor: i64,
    pub reason: String,
    pub source: String,
    pub requested_by: Option<i64>,
    pub requested_at: DateTimeUtc,
    pub status: String,
    pub taken_minor: i64,
    pub owed_minor: i64,
    pub owed_left_minor: i64,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTimeUtc>,
    pub reinstated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
