//! Vouchers: campaigns (what a code grants, to whom, until when, how often), their
//! amount per currency, and their codes (a shared code in the clear; a generated
//! single-use code only as a hash until it is redeemed). A grant remembers the campaign
//! and code it came from, so caps are counted from grants and the Voucher List can name
//! its campaign.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VoucherCampaigns {
    Table,
    Id,
    Name,
    Description,
    Kind,
    ValidFrom,
    ValidUntil,
    CreditExpiresAt,
    CreditExpiresDays,
    MaxRedemptions,
    PerAccountLimit,
    Redemptions,
    Enabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum VoucherCampaignAmounts {
    Table,
    CampaignId,
    Currency,
    AmountMinor,
}

#[derive(DeriveIden)]
enum VoucherCodes {
    Table,
    Id,
    CampaignId,
    Lookup,
    Code,
    RedeemedAt,
}

#[derive(DeriveIden)]
enum VoucherGrants {
    Table,
    AccountId,
    CampaignId,
    VoucherCodeId,
    RedeemToken,
}

#[derive(DeriveIden)]
enum Transactions {
    Table,
    VoucherGrantId,
}

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VoucherCampaigns::Table)
                    .col(big_pk_auto(VoucherCampaigns::Id))
                    .col(string_len(VoucherCampaigns::Name, 100))
                    .col(string_len(VoucherCampaigns::Description, 300))
                    // `shared` (one code for many accounts) or `batch` (single-use codes).
                    .col(string_len(VoucherCampaigns::Kind, 8))
                    .col(timestamp_with_time_zone_null(VoucherCampaigns::ValidFrom))
                    .col(timestamp_with_time_zone_null(VoucherCampaigns::ValidUntil))
                    // Credits expire on a fixed date, or N days after redemption, or never.
                    .col(timestamp_with_time_zone_null(
                        VoucherCampaigns::CreditExpiresAt,
                    ))
                    .col(integer_null(VoucherCampaigns::CreditExpiresDays))
                    .col(big_integer_null(VoucherCampaigns::MaxRedemptions))
                    .col(
                        integer(VoucherCampaigns::PerAccountLimit)
                            .default(1)
                            .check(Expr::col(VoucherCampaigns::PerAccountLimit).gte(1)),
                    )
                    // Counted under the campaign row's lock: the total cap's check.
                    .col(
                        big_integer(VoucherCampaigns::Redemptions)
                            .default(0)
                            .check(Expr::col(VoucherCampaigns::Redemptions).gte(0)),
                    )
                    .col(boolean(VoucherCampaigns::Enabled).default(true))
                    .col(timestamp_with_time_zone(VoucherCampaigns::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VoucherCampaignAmounts::Table)
                    .col(big_integer(VoucherCampaignAmounts::CampaignId))
                    .col(string_len(VoucherCampaignAmounts::Currency, 3))
                    .col(
                        big_integer(VoucherCampaignAmounts::AmountMinor)
                            .check(Expr::col(VoucherCampaignAmounts::AmountMinor).gt(0)),
                    )
                    .primary_key(
                        Index::create()
                            .col(VoucherCampaignAmounts::CampaignId)
                            .col(VoucherCampaignAmounts::Currency),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                VoucherCampaignAmounts::Table,
                                VoucherCampaignAmounts::CampaignId,
                            )
                            .to(VoucherCampaigns::Table, VoucherCampaigns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VoucherCodes::Table)
                    .col(big_pk_auto(VoucherCodes::Id))
                    .col(big_integer(VoucherCodes::CampaignId))
                    // SHA-256 (hex) of the normalised code: how a typed code is found.
                    .col(string_len_uniq(VoucherCodes::Lookup, 64))
                    // A shared code as the operator wrote it; a generated code only once
                    // it is redeemed (spent, so no longer worth stealing).
                    .col(string_len_null(VoucherCodes::Code, 32))
                    .col(timestamp_with_time_zone_null(VoucherCodes::RedeemedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VoucherCodes::Table, VoucherCodes::CampaignId)
                            .to(VoucherCampaigns::Table, VoucherCampaigns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_voucher_codes_campaign")
                    .table(VoucherCodes::Table)
                    .col(VoucherCodes::CampaignId)
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE, and no foreign key that way; the
        // domain writes both columns together from rows it has just read.
        for column in [
            big_integer_null(VoucherGrants::CampaignId),
            big_integer_null(VoucherGrants::VoucherCodeId),
            // The Apply Code click's idempotency token: a double click grants once.
            string_len_null(VoucherGrants::RedeemToken, 64),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(VoucherGrants::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The per-account cap counts an account's grants of a campaign; the operator's
        // figures sum a campaign's grants.
        manager
            .create_index(
                Index::create()
                    .name("ix_voucher_grants_campaign")
                    .table(VoucherGrants::Table)
                    .col(VoucherGrants::CampaignId)
                    .col(VoucherGrants::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_voucher_grants_redeem_token")
                    .table(VoucherGrants::Table)
                    .col(VoucherGrants::AccountId)
                    .col(VoucherGrants::RedeemToken)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // What each grant has spent and lost to expiry is summed from its ledger rows.
        manager
            .create_index(
                Index::create()
                    .name("ix_transactions_voucher_grant")
                    .table(Transactions::Table)
                    .col(Transactions::VoucherGrantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            VoucherCodes::Table.into_iden(),
            VoucherCampaignAmounts::Table.into_iden(),
            VoucherCampaigns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
