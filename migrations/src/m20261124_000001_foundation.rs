//! Users, sessions, accounts, balances, voucher grants, the ledger, API keys and the
//! usage API's idempotency records.
//!
//! Money columns are BIGINT minor units (VND đồng, USD cents): sea-orm reads DECIMAL on
//! SQLite through f64, which would lose money. The domain converts to rust_decimal.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    UserId,
    Currency,
    Country,
    LockVersion,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Balances {
    Table,
    AccountId,
    Bucket,
    AmountMinor,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum VoucherGrants {
    Table,
    Id,
    AccountId,
    Code,
    AmountMinor,
    RemainingMinor,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Transactions {
    Table,
    Id,
    AccountId,
    Bucket,
    Kind,
    Service,
    Source,
    Description,
    VoucherCode,
    Status,
    AmountMinor,
    CreatedAt,
    IdempotencyKey,
    PaymentReference,
    VoucherGrantId,
    ReversesId,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    KeyHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiIdempotency {
    Table,
    Id,
    ApiKeyId,
    IdempotencyKey,
    RequestHash,
    StatusCode,
    ResponseBody,
    CreatedAt,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(text(Users::PasswordHash))
                    .col(string_len(Users::Role, 16))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string_len(Sessions::Id, 64).primary_key())
                    .col(text(Sessions::Data))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sessions_expires_at")
                    .table(Sessions::Table)
                    .col(Sessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(string_len(Accounts::Id, 36).primary_key())
                    .col(big_integer_uniq(Accounts::UserId))
                    .col(string_len(Accounts::Currency, 3))
                    .col(string_len_null(Accounts::Country, 2))
                    .col(big_integer(Accounts::LockVersion).default(0))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Accounts::Table, Accounts::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Balances::Table)
                    .col(string_len(Balances::AccountId, 36))
                    .col(string_len(Balances::Bucket, 16))
                    .col(
                        big_integer(Balances::AmountMinor)
                            .check(Expr::col(Balances::AmountMinor).gte(0)),
                    )
                    .col(timestamp_with_time_zone(Balances::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(Balances::AccountId)
                            .col(Balances::Bucket),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Balances::Table, Balances::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(VoucherGrants::Table)
                    .col(big_pk_auto(VoucherGrants::Id))
                    .col(string_len(VoucherGrants::AccountId, 36))
                    .col(string_len(VoucherGrants::Code, 64))
                    .col(
                        big_integer(VoucherGrants::AmountMinor)
                            .check(Expr::col(VoucherGrants::AmountMinor).gt(0)),
                    )
                    .col(
                        big_integer(VoucherGrants::RemainingMinor)
                            .check(Expr::col(VoucherGrants::RemainingMinor).gte(0)),
                    )
                    .col(timestamp_with_time_zone_null(VoucherGrants::ExpiresAt))
                    .col(timestamp_with_time_zone(VoucherGrants::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VoucherGrants::Table, VoucherGrants::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_voucher_grants_spend_order")
                    .table(VoucherGrants::Table)
                    .col(VoucherGrants::AccountId)
                    .col(VoucherGrants::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Transactions::Table)
                    .col(big_pk_auto(Transactions::Id))
                    .col(string_len(Transactions::AccountId, 36))
                    .col(string_len(Transactions::Bucket, 16))
                    .col(string_len(Transactions::Kind, 16))
                    .col(string_len_null(Transactions::Service, 32))
                    .col(string_len(Transactions::Source, 255))
                    .col(text(Transactions::Description))
                    .col(string_len_null(Transactions::VoucherCode, 64))
                    .col(string_len(Transactions::Status, 16))
                    .col(big_integer(Transactions::AmountMinor))
                    .col(timestamp_with_time_zone(Transactions::CreatedAt))
                    .col(string_len_null(Transactions::IdempotencyKey, 300))
                    .col(string_len_null(Transactions::PaymentReference, 64))
                    .col(big_integer_null(Transactions::VoucherGrantId))
                    .col(big_integer_null(Transactions::ReversesId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Transactions::Table, Transactions::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Transactions::Table, Transactions::VoucherGrantId)
                            .to(VoucherGrants::Table, VoucherGrants::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Transactions::Table, Transactions::ReversesId)
                            .to(Transactions::Table, Transactions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Serves the history's newest-first keyset paging per account and bucket.
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
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiIdempotency::Table)
                    .col(big_pk_auto(ApiIdempotency::Id))
                    .col(big_integer(ApiIdempotency::ApiKeyId))
                    .col(string_len(ApiIdempotency::IdempotencyKey, 255))
                    .col(string_len(ApiIdempotency::RequestHash, 64))
                    .col(integer(ApiIdempotency::StatusCode))
                    .col(text(ApiIdempotency::ResponseBody))
                    .col(timestamp_with_time_zone(ApiIdempotency::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiIdempotency::Table, ApiIdempotency::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_api_idempotency_key")
                    .table(ApiIdempotency::Table)
                    .col(ApiIdempotency::ApiKeyId)
                    .col(ApiIdempotency::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiIdempotency::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Transactions::Table.into_iden(),
            VoucherGrants::Table.into_iden(),
            Balances::Table.into_iden(),
            Accounts::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
