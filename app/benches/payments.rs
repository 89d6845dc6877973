//! Top-ups per second end to end below HTTP: a pending payment (`payment::create`), then
//! its VNPay IPN twice (signature check, compare-and-set settle with the credit, and the
//! duplicate answered "already confirmed"), next to the raw single-row commit rate of
//! the same database in the same run.
//!
//! ```sh
//! cargo bench -p app --features ssr --bench payments          # SQLite and PostgreSQL
//! BENCH_SECONDS=5 cargo bench -p app --features ssr --bench payments
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

use app::domain::db::Db;
use app::domain::gateways::vnpay::{self, IpnAnswer};
use app::domain::ledger;
use app::domain::payment::{self, NewPayment};
use app::model::money::{Currency, Money};
use app::model::top_up::Gateway;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use support::TestDb;
use throughput::{CALLERS, rate, raw_commit, seconds};

/// VNPay's IPN for a paid payment, signed as VNPay signs it.
fn ipn(secret: &SecretString, reference: &str, dong: i64) -> Vec<(String, String)> {
    let mut params = BTreeMap::new();
    for (k, v) in [
        ("vnp_Amount", (dong * 100).to_string()),
        ("vnp_ResponseCode", "00".to_owned()),
        ("vnp_TransactionNo", "14226112".to_owned()),
        ("vnp_TransactionStatus", "00".to_owned()),
        ("vnp_TmnCode", "BENCH".to_owned()),
        ("vnp_TxnRef", reference.to_owned()),
    ] {
        params.insert(k.to_owned(), v);
    }
    let hash = vnpay::sign(secret, &params);
    let mut query: Vec<(String, String)> = params.into_iter().collect();
    query.push(("vnp_SecureHash".into(), hash));
    query
}

async fn top_up(db: &Db, secret: &SecretString, account_id: &str, n: u64) {
    let new = NewPayment {
        account_id: account_id.to_owned(),
        amount: Money::from_minor(500_000, Currency::Vnd),
        gateway: Gateway::VnPay,
        client_token: format!("bench-{n}"),
        consent_version: "bench-terms".into(),
    };
    let made = payment::create(db, &new, chrono::Duration::minutes(15))
        .await
        .unwrap();
    let call = ipn(secret, &made.reference, 500_000);
    let config = vnpay::VnPayConfig {
        tmn_code: "BENCH".into(),
        hash_secret: secret.clone(),
        pay_url: String::new(),
        return_url: String::new(),
        api_url: String::new(),
    };
    assert_eq!(
        vnpay::handle_ipn(db, &config, &call).await,
        IpnAnswer::Confirmed
    );
    assert_eq!(
        vnpay::handle_ipn(db, &config, &call).await,
        IpnAnswer::AlreadyConfirmed
    );
}

async fn bench(name: &str, db: Db) {
    let mut accounts = Vec::new();
    for i in 0..32 {
        accounts.push(support::customer(&db, &format!("pay{i}@example.com"), Currency::Vnd).await);
    }
    let secret = SecretString::from("bench-secret".to_owned());
    let counter = Arc::new(AtomicU64::new(0));
    println!("\n{name}: {} s per cell", seconds().as_secs());
    println!(
        "| callers | raw 1-row commits/s | top-ups/s, one account | IPN calls/s | ratio | top-ups/s, own account each | IPN calls/s | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for callers in CALLERS {
        let (d, a) = (db.clone(), accounts.clone());
        let raw = rate(callers, move |c| {
            let (d, a) = (d.clone(), a.clone());
            async move { raw_commit(&d, &a[c]).await }
        })
        .await;
        let mut cells = Vec::new();
        for spread in [false, true] {
            let (d, a, s, n) = (
                db.clone(),
                accounts.clone(),
                secret.clone(),
                counter.clone(),
            );
            let per_second = rate(callers, move |c| {
                let (d, a, s, n) = (d.clone(), a.clone(), s.clone(), n.clone());
                async move {
                    let account = if spread { &a[c] } else { &a[0] };
                    top_up(&d, &s, account, n.fetch_add(1, Ordering::Relaxed)).await;
                }
            })
            .await;
            cells.push(per_second);
        }
        println!(
            "| {callers} | {raw:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
            cells[0],
            cells[0] * 2.0,
            cells[0] / raw,
            cells[1],
            cells[1] * 2.0,
            cells[1] / raw
        );
    }
    let mut credited = 0;
    for id in &accounts {
        let problems = ledger::audit(db.conn(), id).await.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        credited += ledger::balances(db.conn(), id, Currency::Vnd)
            .await
            .unwrap()
            .total()
            .to_minor()
            .unwrap();
    }
    let made = counter.load(Ordering::Relaxed);
    assert_eq!(credited, i64::try_from(made).unwrap() * 500_000);
    println!("{made} top-ups, each credited once: balances = 500.000 ₫ × {made}; books balance");
}

#[tokio::main]
async fn main() {
    // Bound to a name: the harness deletes its database when dropped.
    let sqlite = TestDb::sqlite().await;
    bench("SQLite (file, WAL, synchronous=FULL)", sqlite.db.clone()).await;
    let pg = TestDb::postgres().await;
    bench("PostgreSQL (local, default settings)", pg.db.clone()).await;
}
