//! Credit History filters and keyset paging, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::db::Db;
use app::domain::history::{self, HistoryError};
use app::domain::ledger::{self, ChargeRequest, TopUp, VoucherCredit};
use app::domain::settings::LocalTime;
use app::model::history::{HistoryFilter, HistoryPage, Matches, PageCursor, services_of};
use app::model::ledger::{Bucket, Service, Status};
use app::model::money::{Currency, Money};
use app::model::settings::{DateFormat, Language};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use support::{TestDb, customer};

const VN: Tz = chrono_tz::Asia::Ho_Chi_Minh;

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

async fn top_up(db: &Db, account: &str, amount: i64, status: Status, at: DateTime<Utc>) {
    let txn = db.write().await.unwrap();
    let t = TopUp {
        account_id: account.into(),
        amount: vnd(amount),
        gateway: "VNPay".into(),
        reference: format!("ref-{amount}"),
    };
    ledger::record_top_up_in(&txn, &t, status, at)
        .await
        .unwrap();
    txn.commit().await.unwrap();
}

async fn charge(db: &Db, account: &str, service: Service, amount: i64, at: DateTime<Utc>) {
    let txn = db.write().await.unwrap();
    let c = ChargeRequest {
        account_id: account.into(),
        service,
        resource: format!("{}-res", service.as_str()),
        description: "usage".into(),
        amount: vnd(amount),
        idempotency_key: None,
    };
    ledger::charge_in(&txn, &c, at).await.unwrap();
    txn.commit().await.unwrap();
}

async fn grant(db: &Db, account: &str, code: &str, amount: i64, at: DateTime<Utc>) {
    let txn = db.write().await.unwrap();
    let v = VoucherCredit {
        account_id: account.into(),
        code: code.into(),
        amount: vnd(amount),
        expires_at: None,
        description: "voucher".into(),
        origin: None,
    };
    ledger::grant_voucher_in(&txn, &v, at).await.unwrap();
    txn.commit().await.unwrap();
}

async fn page(db: &Db, account: &str, filter: &HistoryFilter) -> HistoryPage {
    history::page(db.conn(), account, Currency::Vnd, VN, filter)
        .await
        .unwrap()
}

/// An account with a spread of rows in March 2026 (times in UTC).
async fn history_account(db: &Db, email: &str) -> String {
    let a = customer(db, email, Currency::Vnd).await;
    top_up(db, &a, 5_000_000, Status::Success, utc(2026, 3, 1, 1, 0, 0)).await;
    top_up(db, &a, 1_000_000, Status::Failed, utc(2026, 3, 2, 1, 0, 0)).await;
    grant(db, &a, "SPRING", 300_000, utc(2026, 3, 3, 1, 0, 0)).await;
    // Spends the voucher, then 100,000 of top-up: one row in each bucket.
    charge(
        db,
        &a,
        Service::GpuContainer,
        400_000,
        utc(2026, 3, 4, 1, 0, 0),
    )
    .await;
    charge(
        db,
        &a,
        Service::AiInference,
        50_000,
        utc(2026, 3, 5, 1, 0, 0),
    )
    .await;
    charge(
        db,
        &a,
        Service::ModelFineTuning,
        90_000_000,
        utc(2026, 3, 6, 1, 0, 0),
    )
    .await; // fails
    top_up(db, &a, 500_000, Status::Processed, utc(2026, 3, 7, 1, 0, 0)).await;
    a
}

fn sources(p: &HistoryPage) -> Vec<(Service, Status, i64)> {
    p.rows
        .iter()
        .map(|r| (r.service, r.status, r.amount.to_minor().unwrap()))
        .collect()
}

/// The page as a reader of `language` in Vietnam's time zone asks for it.
async fn page_in(
    db: &Db,
    account: &str,
    filter: &HistoryFilter,
    language: Language,
) -> HistoryPage {
    let dates = LocalTime {
        tz: VN,
        format: DateFormat::Auto.in_language(language),
        language,
    };
    history::page(db.conn(), account, Currency::Vnd, dates, filter)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ledgers_own_words_are_in_the_readers_language_and_callers_words_as_written() {
    let t = TestDb::new().await;
    let a = history_account(&t.db, "words@example.com").await;
    let top_ups = HistoryFilter::default();
    let described = |p: &HistoryPage| -> Vec<(String, String)> {
        p.rows
            .iter()
            .map(|r| (r.source.clone(), r.description.clone()))
            .collect()
    };
    let en = described(&page_in(&t.db, &a, &top_ups, Language::En).await);
    let vi = described(&page_in(&t.db, &a, &top_ups, Language::Vi).await);
    let ja = described(&page_in(&t.db, &a, &top_ups, Language::Ja).await);
    let top_up = |rows: &[(String, String)]| rows.last().cloned().unwrap();
    assert_eq!(
        top_up(&en),
        ("VNPay".into(), "Credit top-up ref-5000000".into())
    );
    assert_eq!(top_up(&vi), ("VNPay".into(), "Nạp tiền ref-5000000".into()));
    assert_eq!(
        top_up(&ja),
        ("VNPay".into(), "クレジットのチャージ ref-5000000".into())
    );
    // A usage charge says what the service sent, in every language.
    let usage = |rows: &[(String, String)]| rows.iter().filter(|r| r.1 == "usage").count();
    assert!(usage(&en) > 0 && usage(&en) == usage(&vi) && usage(&vi) == usage(&ja));

    let vouchers = HistoryFilter {
        bucket: Bucket::Voucher,
        ..HistoryFilter::default()
    };
    let grant = |rows: Vec<(String, String)>| rows.last().cloned().unwrap();
    assert_eq!(
        grant(described(
            &page_in(&t.db, &a, &vouchers, Language::En).await
        )),
        ("Voucher".into(), "voucher".into())
    );
    assert_eq!(
        grant(described(
            &page_in(&t.db, &a, &vouchers, Language::Ja).await
        )),
        ("クーポン".into(), "voucher".into())
    );
}

#[tokio::test]
async fn the_default_view_is_top_up_credits_newest_first() {
    let t = TestDb::new().await;
    let a = history_account(&t.db, "h@example.com").await;
    let p = page(&t.db, &a, &HistoryFilter::default()).await;
    assert_eq!(
        sources(&p),
        vec![
            (Service::PaymentGateway, Status::Processed, 500_000),
            (Service::ModelFineTuning, Status::Failed, -90_000_000),
            (Service::AiInference, Status::Success, -50_000),
            (Service::GpuContainer, Status::Success, -100_000),
            (Service::PaymentGateway, Status::Failed, 1_000_000),
            (Service::PaymentGateway, Status::Success, 5_000_000),
        ]
    );
    assert_eq!(
        p.rows[0].date, "2026-03-07 08:00:00",
        "shown in the user's time zone"
    );
    assert_eq!(p.rows[0].source, "VNPay");
    assert_eq!((p.next.as_deref(), p.previous.as_deref()), (None, None));
    assert_eq!(p.time_zone, "Asia/Ho_Chi_Minh");
}

#[tokio::test]
async fn each_filter_alone_and_combined() {
    let t = TestDb::new().await;
    let a = history_account(&t.db, "h@example.com").await;
    let voucher = HistoryFilter {
        bucket: Bucket::Voucher,
        ..Default::default()
    };
    let p = page(&t.db, &a, &voucher).await;
    assert_eq!(
        sources(&p),
        vec![
            (Service::GpuContainer, Status::Success, -300_000),
            (Service::System, Status::Success, 300_000)
        ]
    );
    assert_eq!(p.rows[1].code.as_deref(), Some("SPRING"));
    assert_eq!(p.rows[1].source, "Voucher");

    let services = HistoryFilter {
        services: vec![Service::AiInference, Service::ModelFineTuning],
        ..Default::default()
    };
    assert_eq!(
        sources(&page(&t.db, &a, &services).await),
        vec![
            (Service::ModelFineTuning, Status::Failed, -90_000_000),
            (Service::AiInference, Status::Success, -50_000)
        ]
    );

    let statuses = HistoryFilter {
        statuses: vec![Status::Failed, Status::Processed],
        ..Default::default()
    };
    assert_eq!(
        sources(&page(&t.db, &a, &statuses).await),
        vec![
            (Service::PaymentGateway, Status::Processed, 500_000),
            (Service::ModelFineTuning, Status::Failed, -90_000_000),
            (Service::PaymentGateway, Status::Failed, 1_000_000),
        ]
    );

    let dates = HistoryFilter {
        start: NaiveDate::from_ymd_opt(2026, 3, 2),
        end: NaiveDate::from_ymd_opt(2026, 3, 5),
        ..Default::default()
    };
    assert_eq!(
        sources(&page(&t.db, &a, &dates).await),
        vec![
            (Service::AiInference, Status::Success, -50_000),
            (Service::GpuContainer, Status::Success, -100_000),
            (Service::PaymentGateway, Status::Failed, 1_000_000),
        ]
    );

    let combined = HistoryFilter {
        services: vec![Service::PaymentGateway],
        statuses: vec![Status::Failed, Status::Success],
        start: NaiveDate::from_ymd_opt(2026, 3, 2),
        ..Default::default()
    };
    assert_eq!(
        sources(&page(&t.db, &a, &combined).await),
        vec![(Service::PaymentGateway, Status::Failed, 1_000_000)]
    );
    assert_eq!(
        history::count(t.db.conn(), &a, &combined, VN)
            .await
            .unwrap(),
        Matches::Exactly(1)
    );
    assert_eq!(
        history::count(t.db.conn(), &a, &HistoryFilter::default(), VN)
            .await
            .unwrap(),
        Matches::Exactly(6)
    );

    let nothing = HistoryFilter {
        statuses: vec![Status::Processed],
        services: vec![Service::AiInference],
        ..Default::default()
    };
    assert!(page(&t.db, &a, &nothing).await.rows.is_empty());
}

#[tokio::test]
async fn date_range_edges_follow_the_users_time_zone() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "tz@example.com", Currency::Vnd).await;
    // 16:59:59 UTC is 23:59:59 on 1 March in Ho Chi Minh City (UTC+7); 17:00 is 2 March.
    top_up(
        &t.db,
        &a,
        111_000,
        Status::Success,
        utc(2026, 3, 1, 16, 59, 59),
    )
    .await;
    top_up(
        &t.db,
        &a,
        222_000,
        Status::Success,
        utc(2026, 3, 1, 17, 0, 0),
    )
    .await;
    let day = |d| HistoryFilter {
        start: NaiveDate::from_ymd_opt(2026, 3, d),
        end: NaiveDate::from_ymd_opt(2026, 3, d),
        ..Default::default()
    };
    let first = page(&t.db, &a, &day(1)).await;
    assert_eq!(
        first
            .rows
            .iter()
            .map(|r| r.amount.to_minor().unwrap())
            .collect::<Vec<_>>(),
        vec![111_000]
    );
    assert_eq!(first.rows[0].date, "2026-03-01 23:59:59");
    let second = page(&t.db, &a, &day(2)).await;
    assert_eq!(
        second
            .rows
            .iter()
            .map(|r| r.amount.to_minor().unwrap())
            .collect::<Vec<_>>(),
        vec![222_000]
    );
    assert_eq!(second.rows[0].date, "2026-03-02 00:00:00");
    // In UTC both fall on 1 March.
    let utc_page = history::page(t.db.conn(), &a, Currency::Vnd, Tz::UTC, &day(1))
        .await
        .unwrap();
    assert_eq!(utc_page.rows.len(), 2);

    let backwards = HistoryFilter {
        start: NaiveDate::from_ymd_opt(2026, 3, 2),
        end: NaiveDate::from_ymd_opt(2026, 3, 1),
        ..Default::default()
    };
    let err = history::page(t.db.conn(), &a, Currency::Vnd, VN, &backwards)
        .await
        .unwrap_err();
    assert!(matches!(err, HistoryError::Filter(_)));
}

#[tokio::test]
async fn paging_forward_and_back_across_equal_timestamps() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "pages@example.com", Currency::Vnd).await;
    let same = utc(2026, 4, 1, 12, 0, 0);
    // 60 rows: 30 share one timestamp, straddling the page boundaries.
    for i in 0..60i64 {
        let at = if (15..45).contains(&i) {
            same
        } else {
            same + Duration::seconds(i - 30)
        };
        top_up(&t.db, &a, 500_000 + i, Status::Success, at).await;
    }
    let filter = HistoryFilter::default();
    let p1 = page(&t.db, &a, &filter).await;
    let p2 = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::After(p1.next.clone().unwrap())),
            ..filter.clone()
        },
    )
    .await;
    let p3 = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::After(p2.next.clone().unwrap())),
            ..filter.clone()
        },
    )
    .await;
    assert_eq!((p1.rows.len(), p2.rows.len(), p3.rows.len()), (25, 25, 10));
    assert!(p3.next.is_none() && p1.previous.is_none());
    let mut ids: Vec<i64> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| r.id))
        .collect();
    let in_order = ids.clone();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 60, "every row exactly once");
    let amounts: Vec<i64> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| r.amount.to_minor().unwrap()))
        .collect();
    let mut expected = amounts.clone();
    expected.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(amounts, expected, "newest first, ties broken by id");
    assert_eq!(in_order.len(), 60);

    // Back from page 3 gives page 2, and back again page 1 with no newer page.
    let back2 = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::Before(p3.previous.clone().unwrap())),
            ..filter.clone()
        },
    )
    .await;
    assert_eq!(back2.rows, p2.rows);
    let back1 = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::Before(back2.previous.clone().unwrap())),
            ..filter.clone()
        },
    )
    .await;
    assert_eq!(back1.rows, p1.rows);
    assert!(back1.previous.is_none());
    assert!(back1.next.is_some());
}

#[tokio::test]
async fn a_cursor_cannot_reach_another_account() {
    let t = TestDb::new().await;
    let mine = history_account(&t.db, "mine@example.com").await;
    let theirs = history_account(&t.db, "theirs@example.com").await;
    // A cursor taken from their history, used on mine, only positions within mine.
    let their_page = page(&t.db, &theirs, &HistoryFilter::default()).await;
    let their_id = their_page.rows[2].id;
    let forged = hex::encode(format!(
        "{}.{}",
        utc(2026, 3, 10, 0, 0, 0).timestamp_micros(),
        their_id
    ));
    let p = page(
        &t.db,
        &mine,
        &HistoryFilter {
            cursor: Some(PageCursor::After(forged)),
            ..Default::default()
        },
    )
    .await;
    let their_ids: Vec<i64> = their_page.rows.iter().map(|r| r.id).collect();
    assert!(!p.rows.is_empty());
    assert!(p.rows.iter().all(|r| !their_ids.contains(&r.id)));
    // Garbage is refused, not guessed at.
    let bad = HistoryFilter {
        cursor: Some(PageCursor::After("zz-not-a-cursor".into())),
        ..Default::default()
    };
    let err = history::page(t.db.conn(), &mine, Currency::Vnd, VN, &bad)
        .await
        .unwrap_err();
    assert!(matches!(err, HistoryError::BadCursor));
}

#[tokio::test]
async fn the_export_stream_yields_every_row_once_in_page_order() {
    let t = TestDb::new().await;
    let a = history_account(&t.db, "stream@example.com").await;
    let same = utc(2026, 4, 1, 12, 0, 0);
    for i in 0..40i64 {
        let service =
            [Service::GpuContainer, Service::AiInference][usize::try_from(i % 2).unwrap()];
        charge(
            &t.db,
            &a,
            service,
            1_000 + i,
            same + Duration::seconds(i / 4),
        )
        .await;
    }
    // Unnarrowed: one scan in time order. Narrowed to the two services: a merge of six
    // (service, status) lanes, which must give the same rows of those services in the
    // same order.
    let everything = HistoryFilter {
        page_size: 100,
        ..Default::default()
    };
    let both_services = HistoryFilter {
        services: vec![Service::GpuContainer, Service::AiInference],
        ..everything.clone()
    };
    let mut seen = Vec::new();
    for filter in [&everything, &both_services] {
        // What a page reads (the ordinary row path), every column: the export's JSON
        // batches must give the same records.
        let paged = history::rows(t.db.conn(), &a, filter, VN, history::Position::Start, 100)
            .await
            .unwrap();
        // Tiny lane reads and batches exercise every refill and tie.
        let mut stream = history::RowStream::new(t.db.conn(), &a, filter, VN, 3);
        let mut streamed = Vec::new();
        loop {
            let batch = stream.next_batch(7).await.unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 7);
            streamed.extend(batch);
        }
        assert_eq!(streamed, paged);
        seen.push(streamed);
    }
    assert_eq!(seen[0].len(), 46);
    let of_both: Vec<_> = seen[0]
        .iter()
        .filter(|r| {
            let service = r.service.as_deref();
            service == Some("gpu_container") || service == Some("ai_inference")
        })
        .cloned()
        .collect();
    assert!(of_both.len() >= 40, "the 40 charges, at least");
    assert_eq!(
        of_both, seen[1],
        "the same rows, in the same order, both ways"
    );
}

#[tokio::test]
async fn paging_within_a_date_range_and_from_cursors_outside_it() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "range@example.com", Currency::Vnd).await;
    // 20 rows on 9 May, 40 on 10 May, 20 on 11 May (noon in Ho Chi Minh City = 05:00 UTC).
    for (day, n) in [(9u32, 20i64), (10, 40), (11, 20)] {
        for i in 0..n {
            top_up(
                &t.db,
                &a,
                100_000 + i,
                Status::Success,
                utc(2026, 5, day, 5, 0, 0) + Duration::seconds(i),
            )
            .await;
        }
    }
    let may10 = HistoryFilter {
        start: NaiveDate::from_ymd_opt(2026, 5, 10),
        end: NaiveDate::from_ymd_opt(2026, 5, 10),
        ..Default::default()
    };
    let on_day = |p: &HistoryPage| p.rows.iter().all(|r| r.date.starts_with("2026-05-10"));
    let p1 = page(&t.db, &a, &may10).await;
    let p2 = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::After(p1.next.clone().unwrap())),
            ..may10.clone()
        },
    )
    .await;
    assert_eq!((p1.rows.len(), p2.rows.len()), (25, 15));
    assert!(on_day(&p1) && on_day(&p2) && p2.next.is_none());
    let back = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::Before(p2.previous.clone().unwrap())),
            ..may10.clone()
        },
    )
    .await;
    assert_eq!(back.rows, p1.rows);

    // A cursor from 11 May (after the range) starts at the range's newest row...
    let cursor_at = |id: i64, created_at: DateTime<Utc>| {
        history::encode_cursor(&history::Record {
            id,
            created_at,
            service: None,
            source: String::new(),
            description: String::new(),
            narrative: None,
            voucher_code: None,
            status: "success".into(),
            amount_minor: 0,
        })
    };
    let newest = page(&t.db, &a, &HistoryFilter::default()).await.rows[0].id;
    let later = PageCursor::After(cursor_at(newest, utc(2026, 5, 11, 5, 0, 19)));
    let from_later = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(later),
            ..may10.clone()
        },
    )
    .await;
    assert_eq!(from_later.rows, p1.rows);
    // ...and a Before cursor from 9 May (before the range) ends at its oldest rows.
    let oldest = page(
        &t.db,
        &a,
        &HistoryFilter {
            page_size: 100,
            ..Default::default()
        },
    )
    .await;
    let first_of_9 = oldest.rows.last().unwrap().id;
    let earlier = cursor_at(first_of_9, utc(2026, 5, 9, 5, 0, 0));
    let from_earlier = page(
        &t.db,
        &a,
        &HistoryFilter {
            cursor: Some(PageCursor::Before(earlier)),
            ..may10.clone()
        },
    )
    .await;
    // The 25 oldest rows of 10 May, newest first.
    let oldest_25: Vec<i64> = [&p1, &p2]
        .iter()
        .flat_map(|p| p.rows.iter().map(|r| r.id))
        .skip(15)
        .collect();
    assert_eq!(
        from_earlier.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        oldest_25
    );
    assert_eq!(from_earlier.rows.len(), 25);
    assert!(on_day(&from_earlier));
    assert_eq!(
        from_earlier.rows.last().unwrap().amount.to_minor(),
        Some(100_000),
        "ends at the range's oldest row"
    );
}

/// The load test's history (`server seed-history`): books that balance, and every row
/// asked for reads back, page by page.
#[tokio::test]
async fn a_seeded_history_has_its_rows_and_balanced_books() {
    let t = TestDb::new().await;
    let account = customer(&t.db, "seeded@example.com", Currency::Vnd).await;
    let until = utc(2026, 11, 25, 12, 0, 0);
    app::domain::demo::seed_history(&t.db, &account, 5_000, 30, until)
        .await
        .unwrap();
    support::assert_books_balance(&t.db, &account).await;
    let balances = ledger::balances(t.db.conn(), &account, Currency::Vnd)
        .await
        .unwrap();
    let sum = ledger::success_sum(t.db.conn(), &account, Bucket::TopUp)
        .await
        .unwrap();
    assert!(sum > 0);
    assert_eq!(balances.top_up, vnd(sum));
    let newest = page(&t.db, &account, &HistoryFilter::default()).await;
    assert_eq!(newest.rows.len(), 25);
    assert!(newest.next.is_some());
    let all = HistoryFilter {
        page_size: 100,
        ..HistoryFilter::default()
    };
    assert_eq!(rows_paged(&t.db, &account, &all).await, 5_000);
}

/// How many rows paging through `filter` from its first page shows.
async fn rows_paged(db: &Db, account: &str, filter: &HistoryFilter) -> u64 {
    let mut seen = 0;
    let mut filter = filter.clone();
    loop {
        let p = page(db, account, &filter).await;
        seen += p.rows.len() as u64;
        match p.next {
            Some(next) => filter.cursor = Some(PageCursor::After(next)),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn a_count_stops_just_past_its_limit_and_is_exact_below_it() {
    let t = TestDb::new().await;
    let account = customer(&t.db, "counted@example.com", Currency::Vnd).await;
    let until = utc(2026, 11, 25, 12, 0, 0);
    let rows = Matches::LIMIT + 1;
    app::domain::demo::seed_history(&t.db, &account, rows, 30, until)
        .await
        .unwrap();
    let everything = HistoryFilter::default();
    assert_eq!(
        history::count(t.db.conn(), &account, &everything, VN)
            .await
            .unwrap(),
        Matches::MoreThan(Matches::LIMIT)
    );
    // Every service named: one lane per service and status, each far below the limit,
    // which their sum passes.
    let every_service = HistoryFilter {
        services: services_of(Bucket::TopUp).to_vec(),
        ..HistoryFilter::default()
    };
    assert_eq!(
        history::count(t.db.conn(), &account, &every_service, VN)
            .await
            .unwrap(),
        Matches::MoreThan(Matches::LIMIT)
    );
    // Over several lanes (services × statuses), below the limit: exact.
    let failed = HistoryFilter {
        statuses: vec![Status::Failed],
        page_size: 100,
        ..HistoryFilter::default()
    };
    let seen = rows_paged(&t.db, &account, &failed).await;
    assert!(seen > 0 && seen < Matches::LIMIT);
    assert_eq!(
        history::count(t.db.conn(), &account, &failed, VN)
            .await
            .unwrap(),
        Matches::Exactly(seen)
    );
}

#[tokio::test]
async fn a_count_past_its_limit_is_remembered_only_where_it_cannot_fall_back() {
    let t = TestDb::new().await;
    let account = customer(&t.db, "remembered@example.com", Currency::Vnd).await;
    let other = customer(&t.db, "other@example.com", Currency::Vnd).await;
    let until = utc(2026, 11, 25, 12, 0, 0);
    // Enough rows that the charges alone pass the limit.
    app::domain::demo::seed_history(&t.db, &account, 3 * Matches::LIMIT, 30, until)
        .await
        .unwrap();
    let memo = history::PastLimit::default();
    let past = Matches::MoreThan(Matches::LIMIT);

    let everything = HistoryFilter::default();
    assert!(!memo.knows(&account, &everything, VN));
    let counted = memo.count(t.db.conn(), &account, &everything, VN).await;
    assert_eq!(counted.unwrap(), past);
    assert!(memo.knows(&account, &everything, VN));
    // Remembered, it is answered without reading: a database that lacks the rows
    // still gets the remembered answer, where counting would find none.
    let empty = TestDb::new().await;
    let answered = memo.count(empty.db.conn(), &account, &everything, VN).await;
    assert_eq!(answered.unwrap(), past);
    // The same rows under another page size or position are the same filter.
    let bigger_pages = HistoryFilter {
        page_size: 100,
        ..HistoryFilter::default()
    };
    assert!(memo.knows(&account, &bigger_pages, VN));

    // Services named in either order are one filter.
    let mut services = services_of(Bucket::TopUp).to_vec();
    let named = HistoryFilter {
        services: services.clone(),
        ..HistoryFilter::default()
    };
    assert_eq!(
        memo.count(t.db.conn(), &account, &named, VN).await.unwrap(),
        past
    );
    services.reverse();
    let reversed = HistoryFilter {
        services,
        ..HistoryFilter::default()
    };
    assert!(memo.knows(&account, &reversed, VN));

    // A filter naming statuses over top-ups is always counted: a top-up's status
    // changes as it settles. Over charges alone, whose status never changes, it is
    // remembered like any other.
    let success = HistoryFilter {
        statuses: vec![Status::Success],
        ..HistoryFilter::default()
    };
    let charges = HistoryFilter {
        services: vec![
            Service::AiInference,
            Service::GpuContainer,
            Service::ModelFineTuning,
        ],
        statuses: vec![Status::Success, Status::Failed],
        ..HistoryFilter::default()
    };
    let counted = memo.count(t.db.conn(), &account, &charges, VN).await;
    assert_eq!(counted.unwrap(), past);
    let statuses_reversed = HistoryFilter {
        statuses: vec![Status::Failed, Status::Success],
        ..charges.clone()
    };
    assert!(memo.knows(&account, &statuses_reversed, VN));
    let charges_and_top_ups = HistoryFilter {
        services: vec![Service::AiInference, Service::PaymentGateway],
        ..charges
    };
    memo.count(t.db.conn(), &account, &charges_and_top_ups, VN)
        .await
        .unwrap();
    assert!(!memo.knows(&account, &charges_and_top_ups, VN));
    let exact = history::count(t.db.conn(), &account, &success, VN)
        .await
        .unwrap();
    assert_eq!(
        memo.count(t.db.conn(), &account, &success, VN)
            .await
            .unwrap(),
        exact
    );
    assert!(!memo.knows(&account, &success, VN));

    // A count under the limit is not remembered: rows keep arriving.
    let recent = HistoryFilter {
        start: NaiveDate::from_ymd_opt(2026, 11, 25),
        ..HistoryFilter::default()
    };
    let Matches::Exactly(n) = memo
        .count(t.db.conn(), &account, &recent, VN)
        .await
        .unwrap()
    else {
        panic!("a day's rows are under the limit");
    };
    assert!(n < Matches::LIMIT);
    assert!(!memo.knows(&account, &recent, VN));

    // Nothing carries over to another account.
    assert!(!memo.knows(&other, &everything, VN));
    assert_eq!(
        memo.count(t.db.conn(), &other, &everything, VN)
            .await
            .unwrap(),
        Matches::Exactly(0)
    );
}
