//! The ledger's own rows (top-ups, expired vouchers, charge-backs, plan periods) keep
//! what they say typed, so each reader sees them in their own language
//! (`app/src/domain/narrative.rs`); so does a failed payment's reason
//! (`app/src/domain/gateways/failure.rs`). Nullable: rows written before, and rows whose
//! words are the caller's (usage charges), have none and show their stored text.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Transactions {
    Table,
    Narrative,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Failure,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Transactions::Table)
                    .add_column(ColumnDef::new(Transactions::Narrative).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .add_column(ColumnDef::new(Payments::Failure).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .drop_column(Payments::Failure)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Transactions::Table)
                    .drop_column(Transactions::Narrative)
                    .to_owned(),
            )
            .await
    }
}
