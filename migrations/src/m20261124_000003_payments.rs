//! Add credit: billing profiles, payments (top-up attempts and their state machine), and
//! the gateway events we have processed (for de-duplication and audit).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BillingProfiles {
    Table,
    AccountId,
    BillingType,
    Name,
    Email,
    Address,
    Country,
    TaxCode,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    Reference,
    AccountId,
    Gateway,
    AmountMinor,
    Currency,
    State,
    ClientToken,
    GatewayRef,
    LedgerTransactionId,
    FailureReason,
    CreatedAt,
    ExpiresAt,
    SettledAt,
}

#[derive(DeriveIden)]
enum GatewayEvents {
    Table,
    Id,
    Gateway,
    EventId,
    PaymentReference,
    Outcome,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Transactions {
    Table,
    Id,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BillingProfiles::Table)
                    .col(string_len(BillingProfiles::AccountId, 36).primary_key())
                    .col(string_len(BillingProfiles::BillingType, 16))
                    .col(string_len(BillingProfiles::Name, 200))
                    .col(string_len(BillingProfiles::Email, 254))
                    .col(string_len(BillingProfiles::Address, 500))
                    .col(string_len(BillingProfiles::Country, 2))
                    .col(string_len_null(BillingProfiles::TaxCode, 64))
                    .col(timestamp_with_time_zone(BillingProfiles::CreatedAt))
                    .col(timestamp_with_time_zone(BillingProfiles::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BillingProfiles::Table, BillingProfiles::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(big_pk_auto(Payments::Id))
                    .col(string_len_uniq(Payments::Reference, 32))
                    .col(string_len(Payments::AccountId, 36))
                    .col(string_len(Payments::Gateway, 16))
                    .col(
                        big_integer(Payments::AmountMinor)
                            .check(Expr::col(Payments::AmountMinor).gt(0)),
                    )
                    .col(string_len(Payments::Currency, 3))
                    .col(string_len(Payments::State, 16))
                    .col(string_len(Payments::ClientToken, 64))
                    .col(string_len_null(Payments::GatewayRef, 128))
                    .col(big_integer_null(Payments::LedgerTransactionId))
                    .col(text_null(Payments::FailureReason))
                    .col(timestamp_with_time_zone(Payments::CreatedAt))
                    .col(timestamp_with_time_zone(Payments::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Payments::SettledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::LedgerTransactionId)
                            .to(Transactions::Table, Transactions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A double-clicked Pay finds the payment its first click made.
        manager
            .create_index(
                Index::create()
                    .name("ux_payments_client_token")
                    .table(Payments::Table)
                    .col(Payments::AccountId)
                    .col(Payments::ClientToken)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Payment History, newest first, keyset on (created_at, id).
        manager
            .create_index(
                Index::create()
                    .name("ix_payments_history")
                    .table(Payments::Table)
                    .col(Payments::AccountId)
                    .col(Payments::CreatedAt)
                    .col(Payments::Id)
                    .to_owned(),
            )
            .await?;
        // The expiry job's scan of pending payments.
        manager
            .create_index(
                Index::create()
                    .name("ix_payments_pending")
                    .table(Payments::Table)
                    .col(Payments::State)
                    .col(Payments::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GatewayEvents::Table)
                    .col(big_pk_auto(GatewayEvents::Id))
                    .col(string_len(GatewayEvents::Gateway, 16))
                    .col(string_len(GatewayEvents::EventId, 255))
                    .col(string_len_null(GatewayEvents::PaymentReference, 32))
                    .col(string_len(GatewayEvents::Outcome, 32))
                    .col(timestamp_with_time_zone(GatewayEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_gateway_events")
                    .table(GatewayEvents::Table)
                    .col(GatewayEvents::Gateway)
                    .col(GatewayEvents::EventId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GatewayEvents::Table.into_iden(),
            Payments::Table.into_iden(),
            BillingProfiles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
