//! Payments: the state machine and exactly-once crediting, on SQLite and PostgreSQL,
//! including a storm of duplicated, shuffled, forged and late VNPay IPN calls.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

mod support;

use app::domain::db::{Db, now};
use app::domain::entities::{payment as payment_row, transaction};
use app::domain::gateways::vnpay::{self, IpnAnswer};
use app::domain::ledger;
use app::domain::payment::{self, NewPayment, Outcome, Settled, State};
use app::model::money::{Currency, Money};
use app::model::top_up::Gateway;
use chrono::Duration;
use rand::seq::SliceRandom;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use std::collections::BTreeMap;
use support::{TestDb, customer};

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

async fn pay(db: &Db, account: &str, amount: i64, token: &str) -> payment_row::Model {
    let new = NewPayment {
        account_id: account.into(),
        amount: vnd(amount),
        gateway: Gateway::VnPay,
        client_token: token.into(),
    };
    payment::create(db, &new, Duration::minutes(15))
        .await
        .unwrap()
}

async fn top_up_rows(db: &Db, account: &str) -> Vec<transaction::Model> {
    transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account))
        .filter(transaction::Column::Kind.eq("top_up"))
        .all(db.conn())
        .await
        .unwrap()
}

async fn total(db: &Db, account: &str) -> i64 {
    ledger::balances(db.conn(), account, Currency::Vnd)
        .await
        .unwrap()
        .total()
        .to_minor()
        .unwrap()
}

#[tokio::test]
async fn a_pending_payment_is_processed_in_the_ledger_and_a_double_click_reuses_it() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "p@example.com", Currency::Vnd).await;
    let first = pay(&t.db, &a, 500_000, "click-1").await;
    let again = pay(&t.db, &a, 500_000, "click-1").await;
    assert_eq!(first, again);
    assert!(first.reference.starts_with("TU-"));
    assert_eq!(first.state, "pending");
    let rows = top_up_rows(&t.db, &a).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].source.as_str()),
        ("processed", "VNPay")
    );
    assert_eq!(total(&t.db, &a).await, 0);

    let wrong = NewPayment {
        gateway: Gateway::Stripe,
        ..NewPayment {
            account_id: a.clone(),
            amount: vnd(500_000),
            gateway: Gateway::VnPay,
            client_token: "x".into(),
        }
    };
    assert!(matches!(
        payment::create(&t.db, &wrong, Duration::minutes(15)).await,
        Err(payment::PaymentError::WrongGateway(..))
    ));
}

#[tokio::test]
async fn settling_credits_once_and_refuses_a_different_amount() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "p@example.com", Currency::Vnd).await;
    let p = pay(&t.db, &a, 1_000_000, "c").await;
    let paid = |amount| Outcome::Paid {
        amount: vnd(amount),
        gateway_ref: Some("14226112".into()),
    };

    let mismatch = payment::settle(&t.db, Gateway::VnPay, &p.reference, &paid(999_999))
        .await
        .unwrap();
    assert!(matches!(mismatch, Settled::AmountMismatch { .. }));
    assert_eq!(total(&t.db, &a).await, 0);

    let settled = payment::settle(&t.db, Gateway::VnPay, &p.reference, &paid(1_000_000))
        .await
        .unwrap();
    assert!(matches!(settled, Settled::Credited(b) if b.top_up == vnd(1_000_000)));
    let again = payment::settle(&t.db, Gateway::VnPay, &p.reference, &paid(1_000_000))
        .await
        .unwrap();
    assert_eq!(again, Settled::Already(State::Succeeded));
    let late_failure = Outcome::Failed {
        reason: "cancelled".into(),
    };
    assert_eq!(
        payment::settle(&t.db, Gateway::VnPay, &p.reference, &late_failure)
            .await
            .unwrap(),
        Settled::Already(State::Succeeded)
    );
    assert_eq!(
        payment::settle(&t.db, Gateway::Stripe, &p.reference, &paid(1_000_000))
            .await
            .unwrap(),
        Settled::NotFound
    );
    assert_eq!(total(&t.db, &a).await, 1_000_000);
    assert_eq!(top_up_rows(&t.db, &a).await[0].status, "success");
    assert!(ledger::audit(t.db.conn(), &a).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_payment_fails_and_a_late_confirmation_credits_nothing() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "p@example.com", Currency::Vnd).await;
    let p = pay(&t.db, &a, 500_000, "c").await;
    assert_eq!(
        payment::expire_due(&t.db, now()).await.unwrap(),
        0,
        "not yet due"
    );
    assert_eq!(
        payment::expire_due(&t.db, now() + Duration::minutes(16))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        payment::expire_due(&t.db, now() + Duration::minutes(16))
            .await
            .unwrap(),
        0,
        "expires once"
    );
    let late = Outcome::Paid {
        amount: vnd(500_000),
        gateway_ref: None,
    };
    assert_eq!(
        payment::settle(&t.db, Gateway::VnPay, &p.reference, &late)
            .await
            .unwrap(),
        Settled::Already(State::Expired)
    );
    assert_eq!(top_up_rows(&t.db, &a).await[0].status, "failed");
    assert_eq!(total(&t.db, &a).await, 0);
    assert!(ledger::audit(t.db.conn(), &a).await.unwrap().is_empty());
}

fn ipn(
    secret: &SecretString,
    reference: &str,
    amount_hundredths: i64,
    code: &str,
    forge: bool,
) -> Vec<(String, String)> {
    let mut params = BTreeMap::new();
    for (k, v) in [
        ("vnp_Amount", amount_hundredths.to_string()),
        ("vnp_BankCode", "NCB".to_owned()),
        ("vnp_OrderInfo", format!("Credit top-up {reference}")),
        ("vnp_ResponseCode", code.to_owned()),
        ("vnp_TmnCode", "DEMOSHOP".to_owned()),
        ("vnp_TransactionNo", "14226112".to_owned()),
        ("vnp_TransactionStatus", code.to_owned()),
        ("vnp_TxnRef", reference.to_owned()),
    ] {
        params.insert(k.to_owned(), v);
    }
    let key = if forge {
        SecretString::from("not-the-secret".to_owned())
    } else {
        secret.clone()
    };
    let hash = vnpay::sign(&key, &params);
    let mut q: Vec<(String, String)> = params.into_iter().collect();
    q.push(("vnp_SecureHash".into(), hash));
    q
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_duplicated_shuffled_forged_and_late_callbacks_credits_each_payment_once() {
    let t = TestDb::new().await;
    let secret = SecretString::from("storm-secret".to_owned());
    let accounts = [
        customer(&t.db, "a@example.com", Currency::Vnd).await,
        customer(&t.db, "b@example.com", Currency::Vnd).await,
    ];
    let mut payments = Vec::new();
    for i in 0..12i64 {
        let account = &accounts[usize::try_from(i % 2).unwrap()];
        payments.push(pay(&t.db, account, 500_000 + i * 1_000, &format!("click-{i}")).await);
    }
    // Two payments expire before any callback arrives: their callbacks are late.
    for p in &payments[10..] {
        payment_row::Entity::update_many()
            .col_expr(
                payment_row::Column::ExpiresAt,
                sea_orm::sea_query::Expr::value(now() - Duration::minutes(1)),
            )
            .filter(payment_row::Column::Id.eq(p.id))
            .exec(t.db.conn())
            .await
            .unwrap();
    }
    assert_eq!(payment::expire_due(&t.db, now()).await.unwrap(), 2);

    let mut calls = Vec::new();
    for (i, p) in payments.iter().enumerate() {
        let hundredths = p.amount_minor * 100;
        for _ in 0..5 {
            calls.push((
                ipn(&secret, &p.reference, hundredths, "00", false),
                "genuine",
            ));
        }
        if i % 3 == 0 {
            // The customer also cancelled in another tab: a genuine failure, twice.
            calls.push((
                ipn(&secret, &p.reference, hundredths, "24", false),
                "genuine",
            ));
            calls.push((
                ipn(&secret, &p.reference, hundredths, "24", false),
                "genuine",
            ));
        }
        calls.push((ipn(&secret, &p.reference, hundredths, "00", true), "forged"));
        calls.push((
            ipn(&secret, &p.reference, hundredths * 10, "00", true),
            "forged",
        ));
        // Signed, but for another amount: refused.
        calls.push((
            ipn(&secret, &p.reference, hundredths + 100, "00", false),
            "wrong amount",
        ));
    }
    calls.push((
        ipn(&secret, "TU-NOSUCHREF", 50_000_000, "00", false),
        "unknown",
    ));
    calls.shuffle(&mut rand::rng());

    let mut tasks = Vec::new();
    for (query, kind) in calls {
        let (db, secret) = (t.db.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            (kind, vnpay::handle_ipn(&db, &secret, &query).await)
        }));
    }
    let mut confirmed = 0;
    for task in tasks {
        let (kind, answer) = task.await.unwrap();
        match kind {
            "forged" => assert_eq!(answer, IpnAnswer::InvalidSignature),
            "wrong amount" => assert!(
                matches!(
                    answer,
                    IpnAnswer::InvalidAmount | IpnAnswer::AlreadyConfirmed
                ),
                "{answer:?}"
            ),
            "unknown" => assert_eq!(answer, IpnAnswer::OrderNotFound),
            _ => {
                assert!(
                    matches!(answer, IpnAnswer::Confirmed | IpnAnswer::AlreadyConfirmed),
                    "{answer:?}"
                );
                confirmed += usize::from(answer == IpnAnswer::Confirmed);
            }
        }
    }
    // The ten live payments were each settled by exactly one call; the expired ones by none.
    assert_eq!(confirmed, 10);

    for account in &accounts {
        let rows = top_up_rows(&t.db, account).await;
        let settled: Vec<payment_row::Model> = payment_row::Entity::find()
            .filter(payment_row::Column::AccountId.eq(account.as_str()))
            .all(t.db.conn())
            .await
            .unwrap();
        let credited: i64 = settled
            .iter()
            .filter(|p| p.state == "succeeded")
            .map(|p| p.amount_minor)
            .sum();
        assert!(settled.iter().all(|p| p.state != "pending"));
        assert_eq!(
            total(&t.db, account).await,
            credited,
            "balance = what succeeded, once"
        );
        assert_eq!(
            rows.len(),
            settled.len(),
            "one ledger row per payment, no more"
        );
        for p in &settled {
            let row = rows
                .iter()
                .find(|r| Some(r.id) == p.ledger_transaction_id)
                .unwrap();
            let expected = if p.state == "succeeded" {
                "success"
            } else {
                "failed"
            };
            assert_eq!(row.status, expected);
        }
        assert!(
            ledger::audit(t.db.conn(), account)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let expired: Vec<_> = payments[10..].iter().map(|p| p.id).collect();
    for id in expired {
        let p = payment_row::Entity::find_by_id(id)
            .one(t.db.conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.state, "expired");
    }
}

#[tokio::test]
async fn payment_history_pages_newest_first_with_customer_statuses() {
    use app::model::history::PageCursor;
    use app::model::top_up::PaymentStatus;
    let t = TestDb::new().await;
    let a = customer(&t.db, "h@example.com", Currency::Vnd).await;
    let other = customer(&t.db, "o@example.com", Currency::Vnd).await;
    pay(&t.db, &other, 900_000, "theirs").await;
    let mut made = Vec::new();
    for i in 0..30i64 {
        made.push(pay(&t.db, &a, 500_000 + i, &format!("c{i}")).await);
    }
    let paid = Outcome::Paid {
        amount: vnd(500_029),
        gateway_ref: Some("VNP-1".into()),
    };
    payment::settle(&t.db, Gateway::VnPay, &made[29].reference, &paid)
        .await
        .unwrap();
    let failed = Outcome::Failed {
        reason: "cancelled".into(),
    };
    payment::settle(&t.db, Gateway::VnPay, &made[28].reference, &failed)
        .await
        .unwrap();

    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let first = payment::page(t.db.conn(), &a, Currency::Vnd, tz, None, 25)
        .await
        .unwrap();
    assert_eq!(first.rows.len(), 25);
    assert_eq!(first.rows[0].reference, made[29].reference);
    assert_eq!(
        (
            first.rows[0].status,
            first.rows[0].gateway_reference.as_deref()
        ),
        (PaymentStatus::Success, Some("VNP-1"))
    );
    assert_eq!(first.rows[1].status, PaymentStatus::Failed);
    assert_eq!(first.rows[2].status, PaymentStatus::Pending);
    assert_eq!(first.rows[0].amount.to_string(), "500.029 ₫");
    assert!(first.previous.is_none());
    let second = payment::page(
        t.db.conn(),
        &a,
        Currency::Vnd,
        tz,
        Some(&PageCursor::After(first.next.clone().unwrap())),
        25,
    )
    .await
    .unwrap();
    assert_eq!(second.rows.len(), 5);
    assert!(second.next.is_none());
    assert!(
        second
            .rows
            .iter()
            .all(|r| r.amount.to_minor() != Some(900_000)),
        "only this account's payments"
    );
    let back = payment::page(
        t.db.conn(),
        &a,
        Currency::Vnd,
        tz,
        Some(&PageCursor::Before(second.previous.clone().unwrap())),
        25,
    )
    .await
    .unwrap();
    assert_eq!(back.rows, first.rows);
}
