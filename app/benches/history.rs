//! Credit History at scale: one account with 1,000,000 transactions, on SQLite and
//! PostgreSQL.
//!
//! - Page latency (server side, through `history::page`): first page and a page 20,000
//!   rows deep, with no filter and with service + status + date filters; p50 and p95.
//! - Export of all 1,000,000 rows: seconds, rows/s and peak memory growth, next to the
//!   same cells written by rust_xlsxwriter from memory (no database) in the same run.
//!
//! Each figure is measured `BENCH_RUNS` times (3) and printed as the median with the
//! spread (lowest–highest), so a goal can be read against the machine's noise.
//!
//! ```sh
//! cargo bench -p app --features ssr --bench history
//! BENCH_ROWS=200000 BENCH_RUNS=1 cargo bench -p app --features ssr --bench history   # quicker
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::float_arithmetic
)]

use app::domain::account;
#[path = "../tests/support/mod.rs"]
mod support;

use app::domain::db::Db;
use app::domain::entities::transaction;
use app::domain::export::{self, ExportOptions};
use app::domain::history::{self, Position};
use app::model::history::{HistoryFilter, PageCursor};
use app::model::ledger::{Bucket, Service, Status};
use app::model::money::Currency;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use support::TestDb;

const TZ: Tz = chrono_tz::Asia::Ho_Chi_Minh;
const DEPTH: u64 = 20_000;
const SAMPLES: usize = 200;

fn rows_wanted() -> u64 {
    std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// Bulk loader: multi-row INSERTs of 2,000 rows (under PostgreSQL's 65,535 bind
/// parameters), 50 statements per transaction. Two years of history, one row every
/// ~63 s, with runs of equal timestamps, all in the top-up bucket.
async fn load(db: &Db, account_id: &str, n: u64) -> f64 {
    let start = Instant::now();
    let services = [
        Service::PaymentGateway,
        Service::ModelFineTuning,
        Service::GpuContainer,
        Service::AiInference,
    ];
    let statuses = [
        Status::Success,
        Status::Success,
        Status::Success,
        Status::Failed,
        Status::Processed,
    ];
    let t0 = Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).unwrap();
    let mut i = 0u64;
    while i < n {
        let txn = db.write().await.unwrap();
        for _ in 0..50 {
            if i >= n {
                break;
            }
            let batch: Vec<transaction::ActiveModel> = (i..(i + 2_000).min(n))
                .map(|k| {
                    let service = services[(k % 4) as usize];
                    let status = statuses[(k % 5) as usize];
                    let sign = if service == Service::PaymentGateway {
                        1
                    } else {
                        -1
                    };
                    transaction::ActiveModel {
                        account_id: Set(account_id.to_owned()),
                        bucket: Set(Bucket::TopUp.as_str().to_owned()),
                        kind: Set(if sign > 0 { "top_up" } else { "charge" }.to_owned()),
                        service: Set(Some(service.as_str().to_owned())),
                        source: Set(format!("resource-{}", k % 97)),
                        description: Set(format!("usage record {k}")),
                        status: Set(status.as_str().to_owned()),
                        amount_minor: Set(sign * (1_000 + (k % 50_000) as i64)),
                        // Runs of three rows share a timestamp.
                        created_at: Set(t0 + Duration::seconds((k / 3 * 190) as i64)),
                        ..Default::default()
                    }
                })
                .collect();
            i += batch.len() as u64;
            transaction::Entity::insert_many(batch)
                .exec(&*txn)
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
    }
    start.elapsed().as_secs_f64()
}

fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3)
}

/// The median of the runs' figures and their spread: `1.23 (1.10–1.40)`.
fn spread(figures: Vec<f64>) -> String {
    spread_to(figures, 2)
}

/// [`spread`] with `digits` decimals.
fn spread_to(mut figures: Vec<f64>, digits: usize) -> String {
    figures.sort_by(f64::total_cmp);
    let median = percentile(&figures, 0.5);
    match (figures.first(), figures.last()) {
        (Some(low), Some(high)) if figures.len() > 1 => {
            format!("{median:.digits$} ({low:.digits$}–{high:.digits$})")
        }
        _ => format!("{median:.digits$}"),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

async fn latency(db: &Db, account_id: &str, filter: &HistoryFilter) -> (f64, f64) {
    let mut ms = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let page = history::page(db.conn(), account_id, Currency::Vnd, TZ, filter)
            .await
            .unwrap();
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.rows.len(), 25);
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.95))
}

async fn deep(db: &Db, account_id: &str, filter: &HistoryFilter) -> HistoryFilter {
    let rows = history::rows(db.conn(), account_id, filter, TZ, Position::Start, DEPTH)
        .await
        .unwrap();
    assert_eq!(
        rows.len() as u64,
        DEPTH,
        "the filter matches fewer than {DEPTH} rows"
    );
    let cursor = history::encode_cursor(rows.last().unwrap());
    HistoryFilter {
        cursor: Some(PageCursor::After(cursor)),
        ..filter.clone()
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Runs `work`, sampling resident memory every 2 ms; returns its result, seconds, and
/// the peak growth over the memory in use when it started, in MB.
async fn measured<T, F: std::future::Future<Output = T>>(work: F) -> (T, f64, f64) {
    let base = rss_bytes();
    let peak = Arc::new(AtomicU64::new(base));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let start = Instant::now();
    let out = work.await;
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let growth = peak.load(Ordering::Relaxed).saturating_sub(base) as f64 / 1_048_576.0;
    (out, secs, growth)
}

async fn bench(name: &str, db: Db) {
    let n = rows_wanted();
    let account_id = support::customer(&db, "history-bench@example.com", Currency::Vnd).await;
    let acct = account::of_email(db.conn(), "history-bench@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acct.id, account_id);
    let load_secs = load(&db, &acct.id, n).await;
    if db.backend() == sea_orm::DbBackend::Postgres {
        db.conn()
            .execute_unprepared("ANALYZE transactions")
            .await
            .unwrap();
    } else {
        db.conn().execute_unprepared("ANALYZE").await.unwrap();
    }
    println!(
        "\n## {name}: {n} rows (loaded in {load_secs:.1} s, {:.0} rows/s)\n",
        n as f64 / load_secs
    );

    let plain = HistoryFilter::default();
    let filtered = HistoryFilter {
        services: vec![Service::GpuContainer, Service::AiInference],
        statuses: vec![Status::Success, Status::Failed],
        start: NaiveDate::from_ymd_opt(2025, 1, 1),
        end: NaiveDate::from_ymd_opt(2026, 6, 30),
        ..HistoryFilter::default()
    };
    let runs = runs();
    println!("{runs} runs; each figure: median (lowest–highest)\n");
    println!("| page | filter | p50 ms | p95 ms | deep/first p50 |");
    println!("|---|---|---:|---:|---:|");
    for (label, filter) in [("none", &plain), ("service+status+date", &filtered)] {
        let deep_filter = deep(&db, &acct.id, filter).await;
        let (mut first, mut deeper) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            first.push(latency(&db, &acct.id, filter).await);
            deeper.push(latency(&db, &acct.id, &deep_filter).await);
        }
        let ratios = first.iter().zip(&deeper).map(|(f, d)| d.0 / f.0).collect();
        let p = |of: &[(f64, f64)], which: fn(&(f64, f64)) -> f64| {
            spread(of.iter().map(which).collect())
        };
        println!(
            "| first | {label} | {} | {} | |",
            p(&first, |x| x.0),
            p(&first, |x| x.1)
        );
        println!(
            "| {DEPTH} rows deep | {label} | {} | {} | {} |",
            p(&deeper, |x| x.0),
            p(&deeper, |x| x.1),
            spread(ratios)
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let (mut exports, mut baselines, mut growths, mut size) =
        (Vec::new(), Vec::new(), Vec::new(), 0.0);
    for run in 0..runs {
        let path = dir.path().join(format!("export{run}.xlsx"));
        let (written, secs, growth) = measured(export::write_xlsx(
            &db,
            &acct.id,
            Currency::Vnd,
            TZ,
            &plain,
            &path,
            ExportOptions::default(),
        ))
        .await;
        assert_eq!(written.unwrap(), n);
        size = std::fs::metadata(&path).unwrap().len() as f64 / 1_048_576.0;
        std::fs::remove_file(&path).unwrap();

        // Baseline: the same rows from memory (loaded before the clock starts).
        let rows = history::rows(db.conn(), &acct.id, &plain, TZ, Position::Start, n)
            .await
            .unwrap();
        let base_path = dir.path().join(format!("baseline{run}.xlsx"));
        let (base_written, base_secs, _) = measured(async {
            export::write_rows(
                &rows,
                Bucket::TopUp,
                Currency::Vnd,
                TZ,
                &base_path,
                export::MAX_DATA_ROWS_PER_SHEET,
            )
        })
        .await;
        assert_eq!(base_written.unwrap(), n);
        drop(rows);
        std::fs::remove_file(&base_path).unwrap();
        exports.push(secs);
        baselines.push(base_secs);
        growths.push(growth);
    }
    let ratios = baselines.iter().zip(&exports).map(|(b, e)| b / e).collect();
    let rates = |secs: &[f64]| spread_to(secs.iter().map(|s| n as f64 / s).collect(), 0);
    println!("\n| export of {n} rows | seconds | rows/s | peak memory growth | file |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| from the database (keyset batches, constant memory) | {} | {} | {:.1} MB (highest) | {size:.1} MB |",
        spread(exports.clone()),
        rates(&exports),
        growths.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "| rust_xlsxwriter from memory (baseline) | {} | {} | | |",
        spread(baselines.clone()),
        rates(&baselines)
    );
    println!("\nspeed relative to the baseline: {}", spread(ratios));
}

#[tokio::main]
async fn main() {
    // Bound to a name: the harness deletes its database when dropped.
    let sqlite = TestDb::sqlite().await;
    bench("SQLite (file, WAL)", sqlite.db.clone()).await;
    // Needs PostgreSQL like the tests do (BILLING_TEST_PG_URL); its database is dropped after.
    let pg = TestDb::postgres().await;
    bench("PostgreSQL (local, default settings)", pg.db.clone()).await;
}
