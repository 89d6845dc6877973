//! Vouchers: how long a batch of 100,000 single-use codes takes to make (goal: under
//! 30 s on SQLite), and redemptions per second of one shared code from 1, 8 and 32
//! callers (each on their own account), next to the raw single-row commit rate of the
//! same database in the same run. Every redemption goes the whole way: the throttle's
//! attempt rows, the account, campaign and grant writes, the ledger row.
//!
//! ```sh
//! cargo bench -p app --features ssr --bench vouchers        # SQLite and PostgreSQL
//! BENCH_SECONDS=5 VOUCHER_BATCH=200000 cargo bench -p app --features ssr --bench vouchers
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::float_arithmetic
)]

#[path = "../tests/support/mod.rs"]
mod support;
mod throughput;

use app::domain::audit::Actor;
use app::domain::db::{Db, now};
use app::domain::ledger;
use app::domain::voucher;
use app::model::money::{Currency, Money};
use app::model::voucher::{CampaignCodes, CreditExpiry, NewCampaign, read_code};
use std::time::Instant;
use support::TestDb;
use throughput::{CALLERS, rate, raw_commit, seconds};

fn campaign(codes: CampaignCodes) -> NewCampaign {
    NewCampaign {
        name: "bench".into(),
        description: "bench credits".into(),
        amounts: vec![Money::from_minor(1_000, Currency::Vnd)],
        codes,
        valid_from: None,
        valid_until: None,
        credit_expiry: CreditExpiry::DaysAfter(30),
        max_redemptions: None,
        // Each caller redeems over and over on its own account.
        per_account_limit: i32::MAX,
    }
}

async fn bench(name: &str, db: Db) {
    let batch: u32 = std::env::var("VOUCHER_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("\n{name}");
    let started = Instant::now();
    let made = voucher::create_campaign(
        &db,
        &campaign(CampaignCodes::Batch(batch)),
        &Actor::System,
        now(),
    )
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(made.codes.len(), batch as usize);
    println!(
        "generating and storing {batch} single-use codes: {:.2} s ({:.0} codes/s)",
        took.as_secs_f64(),
        f64::from(batch) / took.as_secs_f64()
    );

    voucher::create_campaign(
        &db,
        &campaign(CampaignCodes::Shared("BENCH-SHARED".into())),
        &Actor::System,
        now(),
    )
    .await
    .unwrap();
    let mut accounts = Vec::new();
    for i in 0..32 {
        accounts
            .push(support::customer(&db, &format!("bench{i}@example.com"), Currency::Vnd).await);
    }
    let code = read_code("BENCH-SHARED").unwrap();
    println!("{} s per cell", seconds().as_secs());
    println!("| callers | raw 1-row commits/s | redemptions/s of one shared code | ratio |");
    println!("|---:|---:|---:|---:|");
    for callers in CALLERS {
        let (d, a) = (db.clone(), accounts.clone());
        let raw = rate(callers, move |c| {
            let (d, a) = (d.clone(), a.clone());
            async move { raw_commit(&d, &a[c]).await }
        })
        .await;
        let (d, a, code) = (db.clone(), accounts.clone(), code.clone());
        let redeemed = rate(callers, move |c| {
            let (d, a, code) = (d.clone(), a.clone(), code.clone());
            async move {
                let ip = format!("10.0.0.{c}");
                voucher::redeem(&d, &a[c], &code, None, &ip, chrono_tz::UTC, now())
                    .await
                    .unwrap();
            }
        })
        .await;
        println!(
            "| {callers} | {raw:.0} | {redeemed:.0} | {:.2} |",
            redeemed / raw
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
    let sqlite = TestDb::sqlite().await;
    bench("SQLite (file, WAL, synchronous=FULL)", sqlite.db.clone()).await;
    let pg = TestDb::postgres().await;
    bench("PostgreSQL (local, default settings)", pg.db.clone()).await;
}
