//! Charge-backs: the gateways' dispute and reversal events as received, and one
//! reversal per top-up (unique), with what it took back and what the account still owes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reversals {
    Table,
    Id,
    PaymentId,
    AccountId,
    AmountMinor,
    Reason,
    Source,
    RequestedBy,
    RequestedAt,
    Status,
    TakenMinor,
    OwedMinor,
    OwedLeftMinor,
    DecidedBy,
    DecidedAt,
    ReinstatedAt,
}

#[derive(DeriveIden)]
enum Disputes {
    Table,
    Id,
    PaymentId,
    Gateway,
    GatewayDisputeId,
    Event,
    Detail,
    AmountMinor,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Accounts {
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
                    .table(Reversals::Table)
                    .col(big_pk_auto(Reversals::Id))
                    // A top-up is reversed at most once.
                    .col(big_integer_uniq(Reversals::PaymentId))
                    .col(string_len(Reversals::AccountId, 36))
                    // The top-up's amount: what the reversal is worth in all.
                    .col(
                        big_integer(Reversals::AmountMinor)
                            .check(Expr::col(Reversals::AmountMinor).gt(0)),
                    )
                    .col(text(Reversals::Reason))
                    // `gateway` (a dispute or reversal event) or `operator`.
                    .col(string_len(Reversals::Source, 16))
                    .col(big_integer_null(Reversals::RequestedBy))
                    .col(timestamp_with_time_zone(Reversals::RequestedAt))
                    // pending, applied, rejected, reinstated (a won dispute).
                    .col(string_len(Reversals::Status, 16))
                    // Taken from the top-up credits when applied.
                    .col(
                        big_integer(Reversals::TakenMinor)
                            .default(0)
                            .check(Expr::col(Reversals::TakenMinor).gte(0)),
                    )
                    // Already spent when applied: owed by the account…
                    .col(
                        big_integer(Reversals::OwedMinor)
                            .default(0)
                            .check(Expr::col(Reversals::OwedMinor).gte(0)),
                    )
                    // …and what of it is still owed (settled from the next top-ups).
                    .col(
                        big_integer(Reversals::OwedLeftMinor)
                            .default(0)
                            .check(Expr::col(Reversals::OwedLeftMinor).gte(0)),
                    )
                    .col(big_integer_null(Reversals::DecidedBy))
                    .col(timestamp_with_time_zone_null(Reversals::DecidedAt))
                    .col(timestamp_with_time_zone_null(Reversals::ReinstatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reversals::Table, Reversals::PaymentId)
                            .to(Payments::Table, Payments::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reversals::Table, Reversals::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A top-up looks for what its account owes.
        manager
            .create_index(
                Index::create()
                    .name("ix_reversals_owed")
                    .table(Reversals::Table)
                    .col(Reversals::AccountId)
                    .col(Reversals::OwedLeftMinor)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Disputes::Table)
                    .col(big_pk_auto(Disputes::Id))
                    .col(big_integer(Disputes::PaymentId))
                    .col(string_len(Disputes::Gateway, 16))
                    // Stripe's `dp_…`, PayPal's `PP-D-…` or the reversed capture's id.
                    .col(string_len(Disputes::GatewayDisputeId, 100))
                    // opened, reversed, won, lost.
                    .col(string_len(Disputes::Event, 16))
                    // The gateway's reason or status, as it said it.
                    .col(string_len(Disputes::Detail, 200))
                    .col(big_integer(Disputes::AmountMinor))
                    .col(timestamp_with_time_zone(Disputes::ReceivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Disputes::Table, Disputes::PaymentId)
                            .to(Payments::Table, Payments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_disputes_payment")
                    .table(Disputes::Table)
                    .col(Disputes::PaymentId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Disputes::Table.into_iden(), Reversals::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
