//! Credits one voucher code granted to one account, and what is left of them.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "voucher_grants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: String,
    pub code: String,
    pub amount_minor: i64,
    pub remaining_minor: i64,
    pub expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The campaign and code it was redeemed from (none for grants made before
    /// campaigns existed).
    pub campaign_id: Option<i64>,
    pub voucher_code_id: Option<i64>,
    /// The Apply Code click that made it (a repeat of the click returns this grant).
    pub redeem_token: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id"
    )]
    Account,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
