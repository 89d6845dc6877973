//! Periodic work: renew billing plans whose period ended (and retry unpaid ones that
//! are due), expire voucher credits that passed their date, expire adjustment requests
//! nobody decided within their window, close payments past
//! their time (asking each gateway first: paid is credited, never expired), delete
//! ended sessions, idempotency records past their retention and old failed attempts.
//! Safe with several server processes: each step is idempotent and locks what it moves.

use app::domain::db::{Db, now};
use app::domain::gateways::{self, Gateways};
use app::domain::session_store::DbSessionStore;
use app::domain::{adjustment, ledger, plan, throttle, usage};
use std::time::Duration;

/// The configured lengths the jobs work with.
pub struct Periods {
    /// How long usage-API idempotency records are kept.
    pub idempotency_days: i64,
    /// How long an unpaid renewal keeps its plan.
    pub plan_grace_days: i64,
}

/// Runs forever, once a minute.
pub async fn run(db: Db, gateways: Gateways, sessions: DbSessionStore, periods: Periods) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        // Before expiry: a renewal due now spends credits that are still valid now.
        let grace = chrono::Duration::days(periods.plan_grace_days);
        match plan::renew_due(&db, now(), grace).await {
            Ok(plan::RenewalReport {
                renewed: 0,
                unpaid: 0,
                fell_back: 0,
            }) => {}
            Ok(r) => tracing::info!(
                renewed = r.renewed,
                unpaid = r.unpaid,
                fell_back = r.fell_back,
                "renewed plans"
            ),
            Err(e) => tracing::error!(error = %e, "plan renewal failed"),
        }
        match ledger::expire_due(&db, now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(grants = n, "expired voucher credits"),
            Err(e) => tracing::error!(error = %e, "voucher expiry failed"),
        }
        match adjustment::expire_due(&db, now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(requests = n, "expired adjustment requests"),
            Err(e) => tracing::error!(error = %e, "adjustment expiry failed"),
        }
        match gateways::close_due(&db, &gateways, now()).await {
            Ok((0, 0)) => {}
            Ok((credited, expired)) => {
                tracing::info!(credited, expired, "closed payments past their time");
            }
            Err(e) => tracing::error!(error = %e, "payment expiry failed"),
        }
        if let Err(e) = sessions.delete_expired().await {
            tracing::error!(error = %e, "session cleanup failed");
        }
        let retention = chrono::Duration::days(periods.idempotency_days);
        match usage::purge_idempotency(db.conn(), now() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "purged old idempotency records"),
            Err(e) => tracing::error!(error = %e, "idempotency purge failed"),
        }
        if let Err(e) = throttle::purge(db.conn(), now()).await {
            tracing::error!(error = %e, "attempt purge failed");
        }
    }
}
