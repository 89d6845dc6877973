//! Hardening: who closed a payment (so a paid callback after we gave up still credits)
//! and the customer's recorded consent; API keys scoped to services with per-charge
//! maxima; failed attempts (sign-in, top-up starts) counted in the database so every
//! server process shares the count.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Payments {
    Table,
    ClosedBy,
    ConsentVersion,
    ConsentedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Services,
    MaxCharges,
}

#[derive(DeriveIden)]
enum ApiIdempotency {
    Table,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attempts {
    Table,
    Id,
    Kind,
    Subject,
    At,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            // `gateway` when the gateway said the payment failed (final), `us` when we
            // gave up on it (expiry, unreachable, a cancel link): a verified paid
            // callback still credits those.
            string_len_null(Payments::ClosedBy, 16),
            string_len_null(Payments::ConsentVersion, 32),
            timestamp_with_time_zone_null(Payments::ConsentedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Payments::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            // Comma-separated usage services the key may charge. Keys made before
            // scoping keep what they could do: all three.
            string_len(ApiKeys::Services, 200)
                .default("model_fine_tuning,gpu_container,ai_inference")
                .to_owned(),
            // `VND:5000000,USD:20000`: the largest single charge per currency, in minor
            // units; a currency not listed cannot be charged when any is listed.
            string_len_null(ApiKeys::MaxCharges, 200),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The purge of old idempotency records scans by age.
        manager
            .create_index(
                Index::create()
                    .name("ix_api_idempotency_created")
                    .table(ApiIdempotency::Table)
                    .col(ApiIdempotency::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Attempts::Table)
                    .col(big_pk_auto(Attempts::Id))
                    .col(string_len(Attempts::Kind, 32))
                    .col(string_len(Attempts::Subject, 300))
                    .col(timestamp_with_time_zone(Attempts::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_attempts_subject")
                    .table(Attempts::Table)
                    .col(Attempts::Kind)
                    .col(Attempts::Subject)
                    .col(Attempts::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Attempts::Table).to_owned())
            .await
    }
}
