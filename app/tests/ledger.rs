//! The ledger's rules, on SQLite and (with BILLING_TEST_DB=postgres) PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::db::{Db, now};
use app::domain::entities::{balance, transaction};
use app::domain::ledger::{self, ChargeOutcome, ChargeRequest, LedgerError, TopUp, VoucherCredit};
use app::model::ledger::{Bucket, Service, Status};
use app::model::money::{Currency, Money};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use support::{TestDb, customer};

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::Usd)
}

async fn top_up(db: &Db, account: &str, amount: Money, status: Status) {
    let txn = db.write().await.unwrap();
    let request = TopUp {
        account_id: account.to_owned(),
        amount,
        gateway: "PayPal".to_owned(),
        reference: format!("ref-{}", amount.to_minor().unwrap()),
    };
    ledger::record_top_up_in(&txn, &request, status, now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
}

async fn grant(
    db: &Db,
    account: &str,
    code: &str,
    amount: Money,
    expires: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) {
    let txn = db.write().await.unwrap();
    let credit = VoucherCredit {
        account_id: account.to_owned(),
        code: code.to_owned(),
        amount,
        expires_at: expires,
        description: format!("Voucher {code}"),
        origin: None,
    };
    ledger::grant_voucher_in(&txn, &credit, at).await.unwrap();
    txn.commit().await.unwrap();
}

fn charge_of(account: &str, amount: Money) -> ChargeRequest {
    ChargeRequest {
        account_id: account.to_owned(),
        service: Service::AiInference,
        resource: "inference-llama3-70b".to_owned(),
        description: "tokens".to_owned(),
        amount,
        idempotency_key: None,
    }
}

async fn rows(db: &Db, account: &str) -> Vec<transaction::Model> {
    transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account))
        .order_by_asc(transaction::Column::Id)
        .all(db.conn())
        .await
        .unwrap()
}

async fn assert_books_balance(db: &Db, account: &str) {
    let problems = ledger::audit(db.conn(), account).await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
}

async fn balances(db: &Db, account: &str, currency: Currency) -> app::model::ledger::Balances {
    ledger::balances(db.conn(), account, currency)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_successful_top_up_moves_the_balance_with_its_row() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Usd).await;
    top_up(&t.db, &acct, usd(2_500), Status::Success).await;
    let b = balances(&t.db, &acct, Currency::Usd).await;
    assert_eq!(b.top_up, usd(2_500));
    assert_eq!(b.voucher, usd(0));
    let all = rows(&t.db, &acct).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        (
            all[0].kind.as_str(),
            all[0].status.as_str(),
            all[0].amount_minor
        ),
        ("top_up", "success", 2_500)
    );
    assert_books_balance(&t.db, &acct).await;
}

#[tokio::test]
async fn processed_and_failed_top_ups_are_recorded_but_add_nothing() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Usd).await;
    top_up(&t.db, &acct, usd(2_500), Status::Processed).await;
    top_up(&t.db, &acct, usd(5_000), Status::Failed).await;
    assert_eq!(balances(&t.db, &acct, Currency::Usd).await.total(), usd(0));
    assert_eq!(rows(&t.db, &acct).await.len(), 2);
    assert_books_balance(&t.db, &acct).await;
}

#[tokio::test]
async fn charges_spend_the_soonest_expiring_voucher_first_then_top_up() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Usd).await;
    let t0 = now();
    top_up(&t.db, &acct, usd(10_000), Status::Success).await;
    grant(&t.db, &acct, "NEVER", usd(1_000), None, t0).await;
    grant(
        &t.db,
        &acct,
        "LATER",
        usd(1_000),
        Some(t0 + Duration::days(20)),
        t0,
    )
    .await;
    grant(
        &t.db,
        &acct,
        "SOON",
        usd(500),
        Some(t0 + Duration::days(2)),
        t0,
    )
    .await;

    // 7.00: all of SOON (5.00), then 2.00 of LATER; top-up untouched.
    let out = ledger::charge(&t.db, &charge_of(&acct, usd(700)))
        .await
        .unwrap();
    let ChargeOutcome::Charged {
        rows: charged,
        balances: after,
    } = out
    else {
        panic!("declined")
    };
    let parts: Vec<_> = charged
        .iter()
        .map(|r| (r.bucket.as_str(), r.voucher_code.as_deref(), r.amount_minor))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("voucher", Some("SOON"), -500),
            ("voucher", Some("LATER"), -200)
        ]
    );
    assert_eq!(after.voucher, usd(1_800));
    assert_eq!(after.top_up, usd(10_000));

    // 20.00: the rest of LATER (8.00), all of NEVER (10.00), then 2.00 of top-up.
    let out = ledger::charge(&t.db, &charge_of(&acct, usd(2_000)))
        .await
        .unwrap();
    let ChargeOutcome::Charged {
        rows: charged,
        balances: after,
    } = out
    else {
        panic!("declined")
    };
    let parts: Vec<_> = charged
        .iter()
        .map(|r| (r.bucket.as_str(), r.voucher_code.as_deref(), r.amount_minor))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("voucher", Some("LATER"), -800),
            ("voucher", Some("NEVER"), -1_000),
            ("top_up", None, -200)
        ]
    );
    assert_eq!(after.voucher, usd(0));
    assert_eq!(after.top_up, usd(9_800));
    assert_books_balance(&t.db, &acct).await;
}

#[tokio::test]
async fn a_charge_spanning_both_buckets_makes_one_row_in_each() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Vnd).await;
    let vnd = |n| Money::from_minor(n, Currency::Vnd);
    top_up(&t.db, &acct, vnd(500_000), Status::Success).await;
    grant(
        &t.db,
        &acct,
        "WELCOME",
        vnd(100_000),
        Some(now() + Duration::days(30)),
        now(),
    )
    .await;
    let ChargeOutcome::Charged {
        rows: charged,
        balances: after,
    } = ledger::charge(&t.db, &charge_of(&acct, vnd(150_000)))
        .await
        .unwrap()
    else {
        panic!("declined")
    };
    let buckets: Vec<_> = charged
        .iter()
        .map(|r| (r.bucket.as_str(), r.amount_minor))
        .collect();
    assert_eq!(buckets, vec![("voucher", -100_000), ("top_up", -50_000)]);
    assert!(
        charged
            .iter()
            .all(|r| r.status == "success" && r.service.as_deref() == Some("ai_inference"))
    );
    assert_eq!(after.total(), vnd(450_000));
    // The balances a charge reports are the ones stored.
    assert_eq!(after, balances(&t.db, &acct, Currency::Vnd).await);
    assert_books_balance(&t.db, &acct).await;
}

#[tokio::test]
async fn a_charge_above_the_balance_records_one_failed_row_and_deducts_nothing() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Usd).await;
    top_up(&t.db, &acct, usd(1_000), Status::Success).await;
    grant(&t.db, &acct, "V", usd(500), None, now()).await;
    let out = ledger::charge(&t.db, &charge_of(&acct, usd(1_501)))
        .await
        .unwrap();
    let ChargeOutcome::Declined { row, balances: b } = out else {
        panic!("a charge above the balance went through")
    };
    assert_eq!(
        (row.status.as_str(), row.amount_minor, row.bucket.as_str()),
        ("failed", -1_501, "top_up")
    );
    assert_eq!(b.total(), usd(1_500));
    assert_eq!(
        balances(&t.db, &acct, Currency::Usd).await.total(),
        usd(1_500)
    );
    // Exactly the balance is fine.
    assert!(matches!(
        ledger::charge(&t.db, &charge_of(&acct, usd(1_500)))
            .await
            .unwrap(),
        ChargeOutcome::Charged { .. }
    ));
    assert_eq!(balances(&t.db, &acct, Currency::Usd).await.total(), usd(0));
    assert_books_balance(&t.db, &acct).await;
}

#[tokio::test]
async fn expired_voucher_credit_is_removed_by_a_recorded_row_and_never_spent() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Usd).await;
    let t0 = now() - Duration::days(10);
    grant(
        &t.db,
        &acct,
        "OLD",
        usd(800),
        Some(t0 + Duration::days(1)),
        t0,
    )
    .await;
    top_up(&t.db, &acct, usd(300), Status::Success).await;
    // 5.00 would fit in the voucher, but it expired: only 3.00 of top-up is left.
    let out = ledger::charge(&t.db, &charge_of(&acct, usd(500)))
        .await
        .unwrap();
    assert!(matches!(out, ChargeOutcome::Declined { .. }));
    let expiry: Vec<_> = rows(&t.db, &acct)
        .await
        .into_iter()
        .filter(|r| r.kind == "expiry")
        .collect();
    assert_eq!(expiry.len(), 1);
    assert_eq!(
        (expiry[0].amount_minor, expiry[0].voucher_code.as_deref()),
        (-800, Some("OLD"))
    );
    let b = balances(&t.db, &acct, Currency::Usd).await;
    assert_eq!((b.voucher, b.top_up), (usd(0), usd(300)));
    // Expiring again finds nothing more.
    assert_eq!(ledger::expire_due(&t.db, now()).await.unwrap(), 0);
    assert_books_balance(&t.db, &acct).await;
}

#[tokio::test]
async fn the_expiry_job_expires_due_grants_of_every_account() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "a@example.com", Currency::Usd).await;
    let b = customer(&t.db, "b@example.com", Currency::Jpy).await;
    let t0 = now() - Duration::days(3);
    grant(&t.db, &a, "A1", usd(100), Some(t0 + Duration::days(1)), t0).await;
    grant(
        &t.db,
        &a,
        "A2",
        usd(100),
        Some(now() + Duration::days(1)),
        t0,
    )
    .await;
    grant(
        &t.db,
        &b,
        "B1",
        Money::from_minor(3_000, Currency::Jpy),
        Some(t0 + Duration::hours(1)),
        t0,
    )
    .await;
    assert_eq!(ledger::expire_due(&t.db, now()).await.unwrap(), 2);
    assert_eq!(balances(&t.db, &a, Currency::Usd).await.voucher, usd(100));
    assert_eq!(
        balances(&t.db, &b, Currency::Jpy).await.voucher.to_minor(),
        Some(0)
    );
    assert_books_balance(&t.db, &a).await;
    assert_books_balance(&t.db, &b).await;
}

#[tokio::test]
async fn money_in_another_currency_or_for_an_unknown_account_is_refused() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Vnd).await;
    let err = ledger::charge(&t.db, &charge_of(&acct, usd(100)))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::CurrencyMismatch { .. }), "{err}");
    let err = ledger::charge(&t.db, &charge_of("no-such-account", usd(100)))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::AccountNotFound(_)), "{err}");
    assert!(rows(&t.db, &acct).await.is_empty());
}

#[tokio::test]
async fn extreme_amounts_round_trip_exactly() {
    let t = TestDb::new().await;
    let cents = customer(&t.db, "usd@example.com", Currency::Usd).await;
    let dong = customer(&t.db, "vnd@example.com", Currency::Vnd).await;
    let one_cent = Money::parse_positive("0.01", Currency::Usd).unwrap();
    let huge = Money::parse_positive("999999999999", Currency::Vnd).unwrap();
    top_up(&t.db, &cents, one_cent, Status::Success).await;
    top_up(&t.db, &dong, huge, Status::Success).await;
    assert_eq!(
        balances(&t.db, &cents, Currency::Usd).await.top_up,
        one_cent
    );
    assert_eq!(
        balances(&t.db, &cents, Currency::Usd)
            .await
            .top_up
            .to_string(),
        "$0.01"
    );
    let back = balances(&t.db, &dong, Currency::Vnd).await.top_up;
    assert_eq!(back, huge);
    assert_eq!(back.to_string(), "999.999.999.999 ₫");
    let row = &rows(&t.db, &dong).await[0];
    assert_eq!(Money::from_minor(row.amount_minor, Currency::Vnd), huge);
    let stored = balance::Entity::find_by_id((dong.clone(), Bucket::TopUp.as_str().to_owned()))
        .one(t.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.amount_minor, 999_999_999_999);
}

#[tokio::test]
async fn timestamps_round_trip_exactly() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "a@example.com", Currency::Usd).await;
    let before = now();
    top_up(&t.db, &acct, usd(100), Status::Success).await;
    let row = &rows(&t.db, &acct).await[0];
    assert!(row.created_at >= before);
    let again = transaction::Entity::find_by_id(row.id)
        .one(t.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.created_at, row.created_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_charges_never_overdraw() {
    let t = TestDb::new().await;
    let acct = customer(&t.db, "busy@example.com", Currency::Usd).await;
    top_up(&t.db, &acct, usd(10_000), Status::Success).await;
    grant(
        &t.db,
        &acct,
        "V1",
        usd(1_000),
        Some(now() + Duration::days(1)),
        now(),
    )
    .await;
    grant(&t.db, &acct, "V2", usd(1_000), None, now()).await;
    // 120.00 available, 32 × 5.00 = 160.00 asked: exactly 24 can succeed.
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let db = t.db.clone();
        let request = charge_of(&acct, usd(500));
        tasks.push(tokio::spawn(
            async move { ledger::charge(&db, &request).await },
        ));
    }
    let mut charged = 0;
    let mut declined = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            ChargeOutcome::Charged { balances, .. } => {
                charged += 1;
                assert!(!balances.top_up.is_negative() && !balances.voucher.is_negative());
            }
            ChargeOutcome::Declined { .. } => declined += 1,
        }
    }
    assert_eq!((charged, declined), (24, 8));
    let b = balances(&t.db, &acct, Currency::Usd).await;
    assert_eq!(b.total(), usd(0));
    let all = rows(&t.db, &acct).await;
    assert_eq!(all.iter().filter(|r| r.status == "failed").count(), 8);
    let spent: i64 = all
        .iter()
        .filter(|r| r.kind == "charge" && r.status == "success")
        .map(|r| r.amount_minor)
        .sum();
    assert_eq!(spent, -12_000);
    assert_books_balance(&t.db, &acct).await;
}
