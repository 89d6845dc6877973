//! One failed attempt (a wrong password, a refused top-up start), counted for throttling.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What was tried, and by what it is counted: `sign_in_email`, `sign_in_ip`, …
    pub kind: String,
    /// Whom it is counted against: a normalised email, an IP address, an account id.
    pub subject: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
