//! The console's account lookup at 1,000,000 accounts: each key (email, account id,
//! payment reference, gateway reference, voucher code, tax code) searched 200 times on
//! SQLite and PostgreSQL; prints p50 and p99 per key (goal: under 100 ms). Every account
//! has a user, a billing profile with a tax code and a payment; every tenth has a grant
//! of one shared voucher code (so that key matches 100,000 accounts and the lookup must
//! stop at its limit).
//!
//! ```sh
//! cargo bench -p app --features ssr --bench lookup                  # both databases
//! LOOKUP_ACCOUNTS=100000 cargo bench -p app --features ssr --bench lookup
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::float_arithmetic
)]

#[path = "../tests/support/mod.rs"]
mod support;

use app::domain::audit::Actor;
use app::domain::db::{Db, now};
use app::domain::{lookup, voucher};
use app::model::money::{Currency, Money};
use app::model::operator::LookupKey;
use app::model::voucher::{CampaignCodes, CreditExpiry, NewCampaign};
use sea_orm::{ConnectionTrait, DbBackend};
use std::time::Instant;
use support::{TestDb, customer};

const SEARCHES: usize = 200;

/// `n` accounts with their keys, written by the database itself (the setup is not what
/// is measured).
async fn accounts(db: &Db, n: u64) {
    // One real customer first: its row gives the timestamp format each database keeps.
    customer(db, "first@example.com", Currency::Vnd).await;
    let campaign = voucher::create_campaign(
        db,
        &NewCampaign {
            name: "Bench".into(),
            description: "Bench".into(),
            amounts: vec![Money::from_minor(10_000, Currency::Vnd)],
            codes: CampaignCodes::Shared("BENCH2026".into()),
            valid_from: None,
            valid_until: None,
            credit_expiry: CreditExpiry::Never,
            max_redemptions: None,
            per_account_limit: 1,
        },
        &Actor::System,
        now(),
    )
    .await
    .unwrap();
    let conn = db.conn();
    // The numbers 2..=n+1, as each database counts.
    let (with, series, pad) = match db.backend() {
        DbBackend::Postgres => (
            String::new(),
            format!("generate_series(2, {}) AS s(i)", n + 1),
            "lpad(i::text, 8, '0') || '-0000-4000-8000-' || lpad(i::text, 12, '0')",
        ),
        _ => (
            format!(
                "WITH RECURSIVE c(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM c WHERE i <= {n})"
            ),
            "c".to_owned(),
            "printf('%08d-0000-4000-8000-%012d', i, i)",
        ),
    };
    let at = "(SELECT created_at FROM users WHERE id = 1)";
    for sql in [
        format!(
            "INSERT INTO users (id, email, password_hash, role, time_zone, language, date_format, created_at) \
             {with} SELECT i, 'user' || i || '@example.com', 'x', 'customer', 'UTC', 'en', 'ymd', {at} FROM {series}"
        ),
        format!(
            "INSERT INTO accounts (id, user_id, currency, country, lock_version, created_at) \
             {with} SELECT {pad}, i, 'VND', 'VN', 0, {at} FROM {series}"
        ),
        format!(
            "INSERT INTO billing_profiles (account_id, billing_type, name, email, address, country, tax_code, created_at, updated_at) \
             {with} SELECT {pad}, 'company', 'Company ' || i, 'b' || i || '@example.com', 'Hà Nội', 'VN', \
             substr('0000000000' || i, -10, 10), {at}, {at} FROM {series}"
        ),
        format!(
            "INSERT INTO payments (reference, account_id, gateway, amount_minor, currency, state, client_token, gateway_ref, created_at, expires_at) \
             {with} SELECT 'P' || i, {pad}, 'vnpay', 100000, 'VND', 'succeeded', 'c' || i, 'G' || i, {at}, {at} FROM {series}"
        ),
        format!(
            "INSERT INTO voucher_grants (account_id, code, amount_minor, remaining_minor, created_at, campaign_id, voucher_code_id) \
             {with} SELECT {pad}, 'BENCH2026', 10000, 10000, {at}, {}, (SELECT id FROM voucher_codes WHERE campaign_id = {}) \
             FROM {series} WHERE i % 10 = 0",
            campaign.id, campaign.id
        ),
    ] {
        let sql = if db.backend() == DbBackend::Postgres {
            // PostgreSQL's substr takes no negative start: the last ten digits by lpad.
            sql.replace(
                "substr('0000000000' || i, -10, 10)",
                "lpad(i::text, 10, '0')",
            )
        } else {
            sql
        };
        conn.execute_unprepared(&sql).await.unwrap();
    }
    if db.backend() == DbBackend::Postgres {
        // Explicit ids: move the sequence past them, and give the planner its figures.
        conn.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))",
        )
        .await
        .unwrap();
        conn.execute_unprepared("ANALYZE").await.unwrap();
    } else {
        conn.execute_unprepared("ANALYZE").await.unwrap();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run(name: &str, t: TestDb, n: u64) {
    let db = &t.db;
    let started = Instant::now();
    accounts(db, n).await;
    println!(
        "{name}: {n} accounts written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let middle = n / 2;
    let keys: [(LookupKey, String); 6] = [
        (LookupKey::Email, format!("USER{middle}@example.com")),
        (
            LookupKey::AccountId,
            format!("{middle:08}-0000-4000-8000-{middle:012}"),
        ),
        (LookupKey::PaymentReference, format!("P{middle}")),
        (LookupKey::GatewayReference, format!("G{middle}")),
        (LookupKey::VoucherCode, "bench-2026".into()),
        (LookupKey::TaxCode, format!("{middle:010}")),
    ];
    println!("{name}: key                 p50 ms   p99 ms   accounts found");
    for (key, query) in keys {
        let mut times = Vec::with_capacity(SEARCHES);
        let mut found = 0;
        for _ in 0..SEARCHES {
            let t0 = Instant::now();
            let result = lookup::search(db.conn(), &query).await.unwrap();
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            found = result.hits.len();
            assert!(
                result.hits.iter().all(|h| h.matched == key),
                "{query} matched by another key"
            );
        }
        assert!(found > 0, "{query} found nothing");
        times.sort_by(f64::total_cmp);
        println!(
            "{name}: {:<18} {:>8.2} {:>8.2}   {found}",
            key.label(),
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
}

fn main() {
    let n: u64 = std::env::var("LOOKUP_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        run("sqlite", TestDb::sqlite().await, n).await;
        run("postgres", TestDb::postgres().await, n).await;
    });
}
