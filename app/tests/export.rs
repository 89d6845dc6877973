//! Export Excel, read back: rows, order, cell types, formats, the quote prefix, the Code
//! column rule, and the continuation sheets.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::db::Db;
use app::domain::export::{self, ExportOptions};
use app::domain::ledger::{self, ChargeRequest, TopUp, VoucherCredit};
use app::model::history::HistoryFilter;
use app::model::ledger::{Bucket, Service, Status};
use app::model::money::{Currency, Money};
use calamine::{Data, DataType, Reader, Xlsx, open_workbook};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::io::Read;
use std::path::Path;
use support::{TestDb, customer};

const TOKYO: Tz = chrono_tz::Asia::Tokyo;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, day, hour, 30, 15).unwrap()
}

async fn charge(
    db: &Db,
    account: &str,
    resource: &str,
    description: &str,
    cents: i64,
    when: DateTime<Utc>,
) {
    let txn = db.write().await.unwrap();
    let c = ChargeRequest {
        account_id: account.into(),
        service: Service::AiInference,
        resource: resource.into(),
        description: description.into(),
        amount: Money::from_minor(cents, Currency::Usd),
        idempotency_key: None,
    };
    ledger::charge_in(&txn, &c, when).await.unwrap();
    txn.commit().await.unwrap();
}

async fn account(db: &Db) -> String {
    let a = customer(db, "x@example.com", Currency::Usd).await;
    let txn = db.write().await.unwrap();
    let t = TopUp {
        account_id: a.clone(),
        amount: Money::from_minor(100_000, Currency::Usd),
        gateway: "PayPal".into(),
        reference: "P-1".into(),
    };
    ledger::record_top_up_in(&txn, &t, Status::Success, at(1, 0))
        .await
        .unwrap();
    let v = VoucherCredit {
        account_id: a.clone(),
        code: "=CODE1".into(),
        amount: Money::from_minor(1_050, Currency::Usd),
        expires_at: None,
        description: "Launch voucher".into(),
        origin: None,
    };
    ledger::grant_voucher_in(&txn, &v, at(2, 0)).await.unwrap();
    txn.commit().await.unwrap();
    // Spends the voucher's 10.50, then top-up.
    charge(
        db,
        &a,
        "gpu-a100",
        "=HYPERLINK(\"http://evil\")",
        2_000,
        at(3, 0),
    )
    .await;
    charge(db, &a, "+cmd", "-5 discount", 1_234, at(4, 0)).await;
    charge(db, &a, "@sum", "\ttab", 1, at(5, 0)).await;
    a
}

async fn export(db: &Db, a: &str, filter: &HistoryFilter, rows_per_sheet: u32, path: &Path) -> u64 {
    let options = ExportOptions {
        rows_per_sheet,
        batch: 2,
    };
    export::write_xlsx(db, a, Currency::Usd, TOKYO, filter, path, options)
        .await
        .unwrap()
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    wb.worksheet_range(name)
        .unwrap()
        .rows()
        .map(<[Data]>::to_vec)
        .collect()
}

fn zipped(path: &Path, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        other => panic!("expected text, found {other:?}"),
    }
}

#[tokio::test]
async fn top_up_export_has_every_matching_row_typed_and_safe() {
    let t = TestDb::new().await;
    let a = account(&t.db).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topup.xlsx");
    let written = export(
        &t.db,
        &a,
        &HistoryFilter::default(),
        export::MAX_DATA_ROWS_PER_SHEET,
        &path,
    )
    .await;
    assert_eq!(written, 4);

    let rows = sheet(&path, "Credit history");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(
        header,
        [
            "Date",
            "Service",
            "Source",
            "Description",
            "Status",
            "Amount"
        ]
    );
    assert_eq!(rows.len(), 5);

    // Newest first; dates are real date-times in Tokyo time (UTC+9).
    let dates: Vec<_> = rows[1..]
        .iter()
        .map(|r| r[0].as_datetime().expect("a date cell"))
        .collect();
    assert!(rows[1][0].is_datetime());
    assert_eq!(
        dates[0],
        NaiveDate::from_ymd_opt(2026, 5, 5)
            .unwrap()
            .and_hms_opt(9, 30, 15)
            .unwrap()
    );
    assert!(dates.windows(2).all(|w| w[0] > w[1]));

    // Amounts are numbers, signed.
    let amounts: Vec<f64> = rows[1..]
        .iter()
        .map(|r| match r[5] {
            Data::Float(f) => f,
            ref other => panic!("amount is not a number: {other:?}"),
        })
        .collect();
    assert_eq!(amounts, vec![-0.01, -12.34, -9.5, 1000.0]);
    assert_eq!(text(&rows[4][1]), "Payment Gateway");
    assert_eq!(text(&rows[4][2]), "PayPal");
    assert_eq!(text(&rows[4][4]), "Success");

    // Formula-looking text stays text, marked with a quote prefix.
    assert_eq!(text(&rows[3][3]), "=HYPERLINK(\"http://evil\")");
    assert_eq!(text(&rows[2][2]), "+cmd");
    let styles = zipped(&path, "xl/styles.xml");
    assert!(styles.contains("quotePrefix=\"1\""));
    assert!(
        styles.contains("formatCode=\"&quot;$&quot;#,##0.00\""),
        "{styles}"
    );
    assert!(styles.contains("formatCode=\"yyyy-mm-dd hh:mm:ss\""));
    let xml = zipped(&path, "xl/worksheets/sheet1.xml");
    assert!(!xml.contains("<f>"), "no formulas anywhere");
    assert!(
        xml.contains("<pane ") && xml.contains("ySplit=\"1\""),
        "header row frozen"
    );
    assert!(xml.contains("<autoFilter ref=\"A1:F5\""));
    // The quote-prefixed style is the one the formula-like cells use.
    let xfs: Vec<&str> = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("</cellXfs>")
        .next()
        .unwrap()
        .split("<xf ")
        .skip(1)
        .collect();
    let quoted = xfs
        .iter()
        .position(|x| x.contains("quotePrefix=\"1\""))
        .unwrap();
    let cell_d4 = xml.split("r=\"D4\"").nth(1).unwrap();
    assert!(
        cell_d4.starts_with(&format!(" s=\"{quoted}\"")),
        "D4 is quote-prefixed: {}",
        &cell_d4[..40]
    );
    let cell_d2 = xml.split("r=\"D2\"").nth(1).unwrap();
    assert!(
        cell_d2.starts_with(&format!(" s=\"{quoted}\"")),
        "a tab-led description is quote-prefixed too"
    );
    let header_bold = styles.contains("<b/>");
    assert!(header_bold);
}

#[tokio::test]
async fn voucher_export_has_the_code_column() {
    let t = TestDb::new().await;
    let a = account(&t.db).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voucher.xlsx");
    let filter = HistoryFilter {
        bucket: Bucket::Voucher,
        ..Default::default()
    };
    assert_eq!(
        export(&t.db, &a, &filter, export::MAX_DATA_ROWS_PER_SHEET, &path).await,
        2
    );
    let rows = sheet(&path, "Credit history");
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(
        header,
        [
            "Date",
            "Service",
            "Source",
            "Description",
            "Code",
            "Status",
            "Amount"
        ]
    );
    assert_eq!(text(&rows[1][4]), "=CODE1");
    assert_eq!(text(&rows[2][1]), "System");
    assert_eq!(rows[2][6], Data::Float(10.5));
}

#[tokio::test]
async fn past_the_row_limit_the_export_continues_on_another_sheet() {
    let t = TestDb::new().await;
    let a = account(&t.db).await;
    for i in 0..5 {
        charge(
            &t.db,
            &a,
            "inference",
            "batch",
            100,
            at(6, 0) + Duration::minutes(i),
        )
        .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("split.xlsx");
    // 9 top-up rows, 4 per sheet: 4 + 4 + 1.
    assert_eq!(
        export(&t.db, &a, &HistoryFilter::default(), 4, &path).await,
        9
    );
    let wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        ["Credit history", "Credit history (2)", "Credit history (3)"]
    );
    let sheets: Vec<_> = wb.sheet_names().iter().map(|n| sheet(&path, n)).collect();
    assert_eq!(
        sheets.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![5, 5, 2]
    );
    for s in &sheets {
        assert_eq!(text(&s[0][0]), "Date", "every sheet has the header");
    }
    let dates: Vec<_> = sheets
        .iter()
        .flat_map(|s| s[1..].iter().map(|r| r[0].as_datetime().unwrap()))
        .collect();
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "order continues across sheets"
    );
}

#[test]
fn number_formats_and_file_names() {
    assert_eq!(export::number_format(Currency::Vnd), "#,##0 \"₫\"");
    assert_eq!(export::number_format(Currency::Jpy), "\"¥\"#,##0");
    assert_eq!(export::number_format(Currency::Eur), "#,##0.00 \"€\"");
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    assert_eq!(
        export::file_name(Bucket::TopUp, day),
        "credit-history-topup-2026-11-24.xlsx"
    );
    assert_eq!(
        export::file_name(Bucket::Voucher, day),
        "credit-history-voucher-2026-11-24.xlsx"
    );
    for t in ["=1", "+1", "-1", "@x", "\tx", "\rx"] {
        assert!(export::looks_like_formula(t));
    }
    assert!(!export::looks_like_formula("GPU 1"));
}
