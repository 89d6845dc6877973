//! Credit History: each user's time zone (dates are shown and filtered in it), and the
//! index that serves every filter combination in the history's paging order.
//!
//! The history asks for rows of one account and bucket, optionally narrowed to some
//! services and statuses and a date range, newest first by (created_at, id). It runs one
//! index range scan per (service, status) pair and merges them, so a single index on
//! (account, bucket, service, status, created_at, id) serves every combination without
//! sorting, however deep the page.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    TimeZone,
}

#[derive(DeriveIden)]
enum Transactions {
    Table,
    AccountId,
    Bucket,
    Service,
    Status,
    CreatedAt,
    Id,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_len(Users::TimeZone, 64).default("UTC"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_transactions_history")
                    .table(Transactions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_transactions_filter")
                    .table(Transactions::Table)
                    .col(Transactions::AccountId)
                    .col(Transactions::Bucket)
                    .col(Transactions::Service)
                    .col(Transactions::Status)
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
                    .name("ix_transactions_filter")
                    .table(Transactions::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_transactions_history")
                    .table(Transactions::Table)
                    .col(Transactions::AccountId)
                    .col(Transactions::Bucket)
                    .col(Transactions::CreatedAt)
                    .col(Transactions::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::TimeZone)
                    .to_owned(),
            )
            .await
    }
}
