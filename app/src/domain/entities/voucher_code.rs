//! A code of a campaign, found by the hash of its normalised text.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "voucher_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    /// SHA-256 (hex) of the normalised code.
    #[sea_orm(unique)]
    pub lookup: String,
    /// A shared code's text; a generated code's only once redeemed.
    pub code: Option<String>,
    /// When a single-use code was spent.
    pub redeemed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
