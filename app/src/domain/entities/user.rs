//! A person who signs in: customer or operator.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub role: String,
    /// IANA time zone the user reads dates in, e.g. `Asia/Ho_Chi_Minh`.
    pub time_zone: String,
    /// `en`, `vi` or `ja`.
    pub language: String,
    /// How dates read: `ymd`, `dmy` or `mdy`.
    pub date_format: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
