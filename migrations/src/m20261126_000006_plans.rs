//! Billing plans and settings: the plan catalogue and its prices per currency, each
//! account's subscription (plan, current period, a change scheduled for the period's
//! end, grace after an unpaid renewal), every plan change (the renewal's idempotency key
//! per account and period is unique here), the users' display preferences, and the log
//! of settings changes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    Code,
    Name,
    Description,
    Features,
    Limits,
    Rank,
    IsDefault,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlanPrices {
    Table,
    PlanId,
    Currency,
    AmountMinor,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    AccountId,
    PlanId,
    Anchor,
    PeriodStart,
    PeriodEnd,
    ScheduledPlanId,
    GraceUntil,
    RetryAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PlanChanges {
    Table,
    Id,
    AccountId,
    Kind,
    FromPlanId,
    ToPlanId,
    AmountMinor,
    PeriodStart,
    PeriodEnd,
    Reason,
    Actor,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SettingsChanges {
    Table,
    Id,
    UserId,
    ChangedBy,
    Field,
    OldValue,
    NewValue,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Language,
    DateFormat,
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
                    .table(Plans::Table)
                    .col(big_pk_auto(Plans::Id))
                    // Stable, machine-readable: `free`, `pro`, `business`.
                    .col(string_len_uniq(Plans::Code, 32))
                    .col(string_len(Plans::Name, 60))
                    .col(string_len(Plans::Description, 300))
                    // What it includes, one short line each (newline-separated).
                    .col(text(Plans::Features))
                    // A JSON object the marketplace's services read: `{"max_gpu_containers": 4}`.
                    .col(text(Plans::Limits))
                    // Display order, cheapest first.
                    .col(integer(Plans::Rank).default(0))
                    // The free plan every account starts on (one); it costs nothing in any
                    // currency.
                    .col(boolean(Plans::IsDefault).default(false))
                    .col(boolean(Plans::Active).default(true))
                    .col(timestamp_with_time_zone(Plans::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // Every account is on a plan from its first day: the free one exists in every
        // database, demo or not (operators can rename it; `server plan define`).
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Plans::Table)
                    .columns([
                        Plans::Code,
                        Plans::Name,
                        Plans::Description,
                        Plans::Features,
                        Plans::Limits,
                        Plans::Rank,
                        Plans::IsDefault,
                        Plans::Active,
                        Plans::CreatedAt,
                    ])
                    .values_panic([
                        "free".into(),
                        "Free".into(),
                        "Try the marketplace: pay only for what you use.".into(),
                        "1 GPU container at a time\n1 fine-tuning job at a time\nCommunity support".into(),
                        r#"{"max_gpu_containers":1,"max_fine_tuning_jobs":1,"support":"community"}"#.into(),
                        0.into(),
                        true.into(),
                        true.into(),
                        Expr::current_timestamp(),
                    ])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanPrices::Table)
                    .col(big_integer(PlanPrices::PlanId))
                    .col(string_len(PlanPrices::Currency, 3))
                    .col(
                        big_integer(PlanPrices::AmountMinor)
                            .check(Expr::col(PlanPrices::AmountMinor).gte(0)),
                    )
                    .primary_key(
                        Index::create()
                            .col(PlanPrices::PlanId)
                            .col(PlanPrices::Currency),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlanPrices::Table, PlanPrices::PlanId)
                            .to(Plans::Table, Plans::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(string_len(Subscriptions::AccountId, 36).primary_key())
                    .col(big_integer(Subscriptions::PlanId))
                    // Periods are counted from here (monthly), so the 31st comes back.
                    .col(timestamp_with_time_zone(Subscriptions::Anchor))
                    .col(timestamp_with_time_zone(Subscriptions::PeriodStart))
                    .col(timestamp_with_time_zone(Subscriptions::PeriodEnd))
                    // A downgrade or cancellation waiting for the period's end.
                    .col(big_integer_null(Subscriptions::ScheduledPlanId))
                    // Set while a renewal is unpaid: the plan stays until then.
                    .col(timestamp_with_time_zone_null(Subscriptions::GraceUntil))
                    // When the renewal job next tries an unpaid renewal.
                    .col(timestamp_with_time_zone_null(Subscriptions::RetryAt))
                    .col(timestamp_with_time_zone(Subscriptions::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subscriptions::Table, Subscriptions::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subscriptions::Table, Subscriptions::PlanId)
                            .to(Plans::Table, Plans::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The renewal job finds the periods that have ended.
        manager
            .create_index(
                Index::create()
                    .name("ix_subscriptions_period_end")
                    .table(Subscriptions::Table)
                    .col(Subscriptions::PeriodEnd)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlanChanges::Table)
                    .col(big_pk_auto(PlanChanges::Id))
                    .col(string_len(PlanChanges::AccountId, 36))
                    // upgrade, downgrade_scheduled, cancel_scheduled, schedule_undone,
                    // downgrade, cancel, renewal, renewal_unpaid, free_fallback.
                    .col(string_len(PlanChanges::Kind, 24))
                    .col(big_integer_null(PlanChanges::FromPlanId))
                    .col(big_integer(PlanChanges::ToPlanId))
                    // What it charged (0 when nothing).
                    .col(big_integer(PlanChanges::AmountMinor).default(0))
                    .col(timestamp_with_time_zone(PlanChanges::PeriodStart))
                    .col(timestamp_with_time_zone(PlanChanges::PeriodEnd))
                    .col(string_len(PlanChanges::Reason, 300).default(""))
                    // `user:<id>` or `system`.
                    .col(string_len(PlanChanges::Actor, 40))
                    // An upgrade's click token, a renewal's `renewal:<period start>`.
                    .col(string_len_null(PlanChanges::IdempotencyKey, 100))
                    .col(timestamp_with_time_zone(PlanChanges::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PlanChanges::Table, PlanChanges::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_plan_changes_idempotency")
                    .table(PlanChanges::Table)
                    .col(PlanChanges::AccountId)
                    .col(PlanChanges::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SettingsChanges::Table)
                    .col(big_pk_auto(SettingsChanges::Id))
                    .col(big_integer(SettingsChanges::UserId))
                    .col(big_integer(SettingsChanges::ChangedBy))
                    .col(string_len(SettingsChanges::Field, 40))
                    .col(text(SettingsChanges::OldValue))
                    .col(text(SettingsChanges::NewValue))
                    .col(timestamp_with_time_zone(SettingsChanges::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_settings_changes_user")
                    .table(SettingsChanges::Table)
                    .col(SettingsChanges::UserId)
                    .col(SettingsChanges::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            string_len(Users::Language, 8).default("en"),
            // `ymd` 2026-11-25, `dmy` 25/11/2026, `mdy` 11/25/2026.
            string_len(Users::DateFormat, 8).default("ymd"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SettingsChanges::Table.into_iden(),
            PlanChanges::Table.into_iden(),
            Subscriptions::Table.into_iden(),
            PlanPrices::Table.into_iden(),
            Plans::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
