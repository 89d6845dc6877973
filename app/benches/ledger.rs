//! Charges per second through the ledger, next to the raw single-row commit rate of the
//! same database measured in the same run, so the ratio means something on a noisy
//! machine; and the sizes of the batches the group commit made (`domain::group_commit`:
//! charges to one account waiting at the same moment share a transaction).
//!
//! ```sh
//! cargo bench -p app --features ssr --bench ledger            # SQLite and PostgreSQL
//! BENCH_SECONDS=5 cargo bench -p app --features ssr --bench ledger
//! ```
//! PostgreSQL: `BILLING_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the bench makes a database of its own there (the tests' harness) and drops it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::float_arithmetic
)]

#[path = "../tests/support/mod.rs"]
mod support;
mod throughput;

use app::domain::db::{Db, now};
use app::domain::group_commit::BatchSizes;
use app::domain::ledger::{self, ChargeOutcome, ChargeRequest, TopUp};
use app::model::ledger::{Service, Status};
use app::model::money::{Currency, Money};
use support::TestDb;
use throughput::{CALLERS, rate, raw_commit, seconds};

async fn funded_accounts(db: &Db, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = support::customer(db, &format!("bench{i}@example.com"), Currency::Usd).await;
        let txn = db.write().await.unwrap();
        let top_up = TopUp {
            account_id: id.clone(),
            amount: Money::from_minor(100_000_000_000, Currency::Usd),
            gateway: "PayPal".into(),
            reference: "bench".into(),
        };
        ledger::record_top_up_in(&txn, &top_up, Status::Success, now())
            .await
            .unwrap();
        txn.commit().await.unwrap();
        ids.push(id);
    }
    ids
}

async fn charge(db: &Db, account_id: &str) {
    let request = ChargeRequest {
        account_id: account_id.to_owned(),
        service: Service::AiInference,
        resource: "bench".into(),
        description: "bench".into(),
        amount: Money::from_minor(1, Currency::Usd),
        idempotency_key: None,
    };
    match ledger::charge(db, &request).await.unwrap() {
        ChargeOutcome::Charged { .. } => {}
        ChargeOutcome::Declined { .. } => panic!("bench account ran dry"),
    }
}

/// The batches made between two readings: mean charges per batch, and the largest.
fn batches(before: BatchSizes, after: BatchSizes) -> String {
    let (made, charges) = (
        after.batches - before.batches,
        after.charges - before.charges,
    );
    format!(
        "{:.1} / {}",
        charges as f64 / made.max(1) as f64,
        after.largest
    )
}

async fn bench(name: &str, db: Db) {
    let accounts = funded_accounts(&db, 32).await;
    println!("\n{name}: {} s per cell", seconds().as_secs());
    println!(
        "| callers | raw 1-row commits/s | charges/s, one account | ratio | batch mean / largest | charges/s, own account each | ratio | batch mean / largest |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for callers in CALLERS {
        let (d, a) = (db.clone(), accounts.clone());
        let raw = rate(callers, move |c| {
            let (d, a) = (d.clone(), a.clone());
            async move { raw_commit(&d, &a[c]).await }
        })
        .await;
        let (d, a) = (db.clone(), accounts.clone());
        let before = db.charges().sizes();
        let hot = rate(callers, move |_| {
            let (d, a) = (d.clone(), a.clone());
            async move { charge(&d, &a[0]).await }
        })
        .await;
        let hot_batches = batches(before, db.charges().sizes());
        let (d, a) = (db.clone(), accounts.clone());
        let before = db.charges().sizes();
        let spread = rate(callers, move |c| {
            let (d, a) = (d.clone(), a.clone());
            async move { charge(&d, &a[c]).await }
        })
        .await;
        let spread_batches = batches(before, db.charges().sizes());
        println!(
            "| {callers} | {raw:.0} | {hot:.0} | {:.2} | {hot_batches} | {spread:.0} | {:.2} | {spread_batches} |",
            hot / raw,
            spread / raw
        );
    }
    for id in &accounts {
        let problems = ledger::audit(db.conn(), id).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }
    println!(
        "books balance on all {} accounts after the run",
        accounts.len()
    );
}

#[tokio::main]
async fn main() {
    // Bound to a name: the harness deletes its database when dropped.
    let sqlite = TestDb::sqlite().await;
    bench("SQLite (file, WAL, synchronous=FULL)", sqlite.db.clone()).await;
    // Needs PostgreSQL like the tests do (BILLING_TEST_PG_URL); its database is dropped after.
    let pg = TestDb::postgres().await;
    bench("PostgreSQL (local, default settings)", pg.db.clone()).await;
}
