//! One ledger row. Append-only: rows are inserted, never updated or deleted, except
//! that a Processed top-up row settles to Success or Failed.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transactions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: String,
    pub bucket: String,
    pub kind: String,
    pub service: Option<String>,
    pub source: String,
    pub description: String,
    pub voucher_code: Option<String>,
    pub status: String,
    /// Signed: positive adds credit, negative deducts it.
    pub amount_minor: i64,
    pub created_at: DateTimeUtc,
    pub idempotency_key: Option<String>,
    pub payment_reference: Option<String>,
    pub voucher_grant_id: Option<i64>,
    pub reverses_id: Option<i64>,
    /// The row's words when they are ours, typed (`domain::narrative`); `description`
    /// holds them in English.
    pub narrative: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
