//! The history a customer opens first, unnarrowed by service or status, read as one
//! index range in time order (`app/src/domain/history.rs`, `Scan::All`) instead of a
//! merge of one range per (service, status) pair: a 26-row page reads 26 index entries,
//! not 18 × 26, and needs no sort. Narrowed pages keep `ix_transactions_filter`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Transactions {
    Table,
    AccountId,
    Bucket,
    CreatedAt,
    Id,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_transactions_time")
                    .table(Transactions::Table)
                    .col(Transactions::AccountId)
                    .col(Transactions::Bucket)
                    .col(Transactions::CreatedAt)
                    .col(Transactions::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_transactions_time")
                    .table(Transactions::Table)
                    .to_owned(),
            )
            .await
    }
}
