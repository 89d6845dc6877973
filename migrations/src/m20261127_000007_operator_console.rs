//! The operator console: the capabilities each operator holds, adjustments (with their
//! four-eyes approval state), the append-only hash-chained audit log and its head, and
//! the indexes the account lookup searches by (gateway reference, tax code, voucher
//! code).

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OperatorCapabilities {
    Table,
    UserId,
    Capability,
    GrantedBy,
    GrantedAt,
}

#[derive(DeriveIden)]
enum Adjustments {
    Table,
    Id,
    AccountId,
    Bucket,
    AmountMinor,
    ReasonCode,
    Comment,
    Description,
    IdempotencyKey,
    Status,
    RequestedBy,
    RequestedAt,
    ExpiresAt,
    DecidedBy,
    DecidedAt,
    DecisionNote,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    AccountId,
    Subject,
    Before,
    After,
    Reason,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    LastId,
    LastHash,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    GatewayRef,
}

#[derive(DeriveIden)]
enum BillingProfiles {
    Table,
    TaxCode,
}

#[derive(DeriveIden)]
enum VoucherGrants {
    Table,
    VoucherCodeId,
}

/// The hash the first audit row links to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

// The trait's own signature elides SchemaManager's lifetime; ours must match it.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OperatorCapabilities::Table)
                    .col(big_integer(OperatorCapabilities::UserId))
                    // view_accounts, adjust_credits, approve_adjustments, manage_vouchers,
                    // manage_plans, manage_api_keys.
                    .col(string_len(OperatorCapabilities::Capability, 32))
                    // None when granted from the command line.
                    .col(big_integer_null(OperatorCapabilities::GrantedBy))
                    .col(timestamp_with_time_zone(OperatorCapabilities::GrantedAt))
                    .primary_key(
                        Index::create()
                            .col(OperatorCapabilities::UserId)
                            .col(OperatorCapabilities::Capability),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorCapabilities::Table, OperatorCapabilities::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Adjustments::Table)
                    .col(big_pk_auto(Adjustments::Id))
                    .col(string_len(Adjustments::AccountId, 36))
                    .col(string_len(Adjustments::Bucket, 16))
                    // Signed: a credit is positive, a debit negative; never zero.
                    .col(
                        big_integer(Adjustments::AmountMinor)
                            .check(Expr::col(Adjustments::AmountMinor).ne(0)),
                    )
                    // goodwill, correction, chargeback, other.
                    .col(string_len(Adjustments::ReasonCode, 16))
                    // The operators' words (at least 10 characters).
                    .col(text(Adjustments::Comment))
                    // What the customer reads in Credit History.
                    .col(string_len(Adjustments::Description, 200))
                    // The requester's click: a repeat finds this request.
                    .col(string_len(Adjustments::IdempotencyKey, 100))
                    // pending, applied, rejected, withdrawn, expired, failed.
                    .col(string_len(Adjustments::Status, 16))
                    .col(big_integer(Adjustments::RequestedBy))
                    .col(timestamp_with_time_zone(Adjustments::RequestedAt))
                    // Set on requests that wait for approval.
                    .col(timestamp_with_time_zone_null(Adjustments::ExpiresAt))
                    .col(big_integer_null(Adjustments::DecidedBy))
                    .col(timestamp_with_time_zone_null(Adjustments::DecidedAt))
                    .col(string_len(Adjustments::DecisionNote, 300).default(""))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Adjustments::Table, Adjustments::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_adjustments_idempotency")
                    .table(Adjustments::Table)
                    .col(Adjustments::AccountId)
                    .col(Adjustments::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The approvers' queue and the expiry job.
        manager
            .create_index(
                Index::create()
                    .name("ix_adjustments_status")
                    .table(Adjustments::Table)
                    .col(Adjustments::Status)
                    .col(Adjustments::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    // Assigned from the head, in order, with no gaps: a missing id is a
                    // deleted row.
                    .col(big_integer(AuditLog::Id).primary_key())
                    .col(timestamp_with_time_zone(AuditLog::At))
                    // `operator:<id> <email>`, `customer:<id> <email>` or `system`.
                    .col(string_len(AuditLog::Actor, 200))
                    .col(string_len(AuditLog::Action, 40))
                    .col(string_len_null(AuditLog::AccountId, 36))
                    // What was acted on: `adjustment:12`, `plan:pro`, `user:4`.
                    .col(string_len(AuditLog::Subject, 100))
                    // JSON objects of the fields that changed.
                    .col(text(AuditLog::Before))
                    .col(text(AuditLog::After))
                    .col(text(AuditLog::Reason))
                    .col(string_len(AuditLog::PrevHash, 64))
                    .col(string_len(AuditLog::Hash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_account")
                    .table(AuditLog::Table)
                    .col(AuditLog::AccountId)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await?;
        // One row: the last entry's id and hash. Appending updates it, which also queues
        // concurrent appenders (the chain has one order).
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .col(integer(AuditHead::Id).primary_key())
                    .col(big_integer(AuditHead::LastId))
                    .col(string_len(AuditHead::LastHash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AuditHead::Table)
                    .columns([AuditHead::Id, AuditHead::LastId, AuditHead::LastHash])
                    .values_panic([1.into(), 0_i64.into(), GENESIS.into()])
                    .to_owned(),
            )
            .await?;
        // Append-only in the database too: an edit or a delete has to drop these first,
        // and `server audit-log verify` finds what it did.
        let conn = manager.get_connection();
        match conn.get_database_backend() {
            DbBackend::Sqlite => {
                for (name, event) in [
                    ("audit_log_no_update", "UPDATE"),
                    ("audit_log_no_delete", "DELETE"),
                ] {
                    conn.execute_unprepared(&format!(
                        "CREATE TRIGGER {name} BEFORE {event} ON audit_log \
                         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
                    ))
                    .await?;
                }
            }
            DbBackend::Postgres => {
                conn.execute_unprepared(
                    "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            _ => {}
        }
        // The account lookup's keys that had no index yet.
        for (name, table, column) in [
            (
                "ix_payments_gateway_ref",
                Payments::Table.into_iden(),
                Payments::GatewayRef.into_iden(),
            ),
            (
                "ix_billing_profiles_tax_code",
                BillingProfiles::Table.into_iden(),
                BillingProfiles::TaxCode.into_iden(),
            ),
            (
                "ix_voucher_grants_code",
                VoucherGrants::Table.into_iden(),
                VoucherGrants::VoucherCodeId.into_iden(),
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        if conn.get_database_backend() == DbBackend::Postgres {
            conn.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
                .await?;
            conn.execute_unprepared("DROP FUNCTION IF EXISTS audit_log_append_only()")
                .await?;
        }
        for table in [
            AuditHead::Table.into_iden(),
            AuditLog::Table.into_iden(),
            Adjustments::Table.into_iden(),
            OperatorCapabilities::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
