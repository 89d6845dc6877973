//! The database schema, in order. Each migration is one file; never edit one that has
//! shipped, add the next.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_foundation;
mod m20261124_000002_credit_history;
mod m20261124_000003_payments;
mod m20261125_000004_hardening;
mod m20261125_000005_vouchers;
mod m20261126_000006_plans;
mod m20261127_000007_operator_console;
mod m20261127_000008_reversals;
mod m20261128_000009_narratives;
mod m20261129_000010_history_time_index;
mod m20261129_000011_session_user;

/// Runs every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_credit_history::Migration),
            Box::new(m20261124_000003_payments::Migration),
            Box::new(m20261125_000004_hardening::Migration),
            Box::new(m20261125_000005_vouchers::Migration),
            Box::new(m20261126_000006_plans::Migration),
            Box::new(m20261127_000007_operator_console::Migration),
            Box::new(m20261127_000008_reversals::Migration),
            Box::new(m20261128_000009_narratives::Migration),
            Box::new(m20261129_000010_history_time_index::Migration),
            Box::new(m20261129_000011_session_user::Migration),
        ]
    }
}
