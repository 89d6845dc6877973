//! Periodic work: expire voucher credits that passed their date, fail pending payments
//! past their expiry, delete ended sessions.
//! Safe with several server processes: each step is idempotent and locks what it moves.

use app::domain::db::{Db, now};
use app::domain::session_store::DbSessionStore;
use app::domain::{ledger, payment};
use std::time::Duration;

/// Runs forever, once a minute.
pub async fn run(db: Db, sessions: DbSessionStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match ledger::expire_due(&db, now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(grants = n, "expired voucher credits"),
            Err(e) => tracing::error!(error = %e, "voucher expiry failed"),
        }
        match payment::expire_due(&db, now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(payments = n, "expired pending payments"),
            Err(e) => tracing::error!(error = %e, "payment expiry failed"),
        }
        if let Err(e) = sessions.delete_expired().await {
            tracing::error!(error = %e, "session cleanup failed");
        }
    }
}
