//! A voucher campaign: what its codes grant, to whom, until when, and how often.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "voucher_campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Shown to the customer (Voucher List, the ledger row's description).
    pub description: String,
    /// `shared` or `batch`.
    pub kind: String,
    pub valid_from: Option<DateTimeUtc>,
    pub valid_until: Option<DateTimeUtc>,
    pub credit_expires_at: Option<DateTimeUtc>,
    pub credit_expires_days: Option<i32>,
    pub max_redemptions: Option<i64>,
    pub per_account_limit: i32,
    /// How many times its codes were redeemed, counted under the row's lock.
    pub redemptions: i64,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
