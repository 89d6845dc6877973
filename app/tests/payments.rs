//! Payments: the state machine and exactly-once crediting, on SQLite and PostgreSQL,
//! including a storm of duplicated, shuffled, forged and late VNPay IPN calls.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::db::{Db, now};
use app::domain::entities::{payment as payment_row, transaction};
use app::domain::gateways;
use app::domain::gateways::failure::Failure;
use app::domain::gateways::vnpay::{self, IpnAnswer};
use app::domain::payment::{self, NewPayment, Outcome, Settled, State};
use app::model::money::{Currency, Money};
use app::model::top_up::Gateway;
use chrono::Duration;
use rand::seq::SliceRandom;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use support::scripted::{self, Said, Scripted};
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
        consent_version: "test-terms".into(),
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
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 0);

    let wrong = NewPayment {
        gateway: Gateway::Stripe,
        ..NewPayment {
            account_id: a.clone(),
            amount: vnd(500_000),
            gateway: Gateway::VnPay,
            client_token: "x".into(),
            consent_version: "test-terms".into(),
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
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 0);

    let settled = payment::settle(&t.db, Gateway::VnPay, &p.reference, &paid(1_000_000))
        .await
        .unwrap();
    assert!(matches!(settled, Settled::Credited(b) if b.top_up == vnd(1_000_000)));
    let again = payment::settle(&t.db, Gateway::VnPay, &p.reference, &paid(1_000_000))
        .await
        .unwrap();
    assert_eq!(again, Settled::Already(State::Succeeded));
    let late_failure = Outcome::Failed {
        reason: Failure::Vnpay { code: "24".into() },
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
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 1_000_000);
    assert_eq!(top_up_rows(&t.db, &a).await[0].status, "success");
    support::assert_books_balance(&t.db, &a).await;
}

/// The expiry job with a gateway that answers as scripted.
async fn close_due(
    db: &Db,
    gateway: &Arc<Scripted>,
    at: chrono::DateTime<chrono::Utc>,
) -> (usize, usize) {
    gateways::close_due(db, &scripted::gateways(gateway.clone()), at)
        .await
        .unwrap()
}

async fn state_of(db: &Db, id: i64) -> payment_row::Model {
    payment_row::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_paid_callback_two_hours_after_expiry_credits_once() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "p@example.com", Currency::Vnd).await;
    let p = pay(&t.db, &a, 500_000, "c").await;
    let gateway = Arc::new(Scripted::default());
    assert_eq!(
        close_due(&t.db, &gateway, now()).await,
        (0, 0),
        "not yet due"
    );
    // The gateway knows of no payment (its callback is stuck in an outage): we give up.
    let later = now() + Duration::minutes(16);
    assert_eq!(close_due(&t.db, &gateway, later).await, (0, 1));
    assert_eq!(
        close_due(&t.db, &gateway, later).await,
        (0, 0),
        "expires once"
    );
    assert_eq!(state_of(&t.db, p.id).await.state, "expired");
    assert_eq!(top_up_rows(&t.db, &a).await[0].status, "failed");
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 0);

    // Two hours later the outage ends and the verified paid callback arrives.
    let late = Outcome::Paid {
        amount: vnd(500_000),
        gateway_ref: Some("VNP-LATE".into()),
    };
    let credited = payment::settle(&t.db, Gateway::VnPay, &p.reference, &late)
        .await
        .unwrap();
    assert!(matches!(credited, Settled::Credited(_)), "{credited:?}");
    for _ in 0..3 {
        assert_eq!(
            payment::settle(&t.db, Gateway::VnPay, &p.reference, &late)
                .await
                .unwrap(),
            Settled::Already(State::Succeeded)
        );
    }
    let settled = state_of(&t.db, p.id).await;
    assert_eq!(settled.state, "succeeded");
    assert_eq!(settled.gateway_ref.as_deref(), Some("VNP-LATE"));
    let rows = top_up_rows(&t.db, &a).await;
    assert_eq!(rows.len(), 1, "the payment's one row turned Success");
    assert_eq!(rows[0].status, "success");
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 500_000);
    support::assert_books_balance(&t.db, &a).await;
}

#[tokio::test]
async fn the_expiry_job_asks_the_gateway_and_credits_what_it_reports_paid() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "j@example.com", Currency::Vnd).await;
    let paid = pay(&t.db, &a, 600_000, "paid").await;
    let open = pay(&t.db, &a, 700_000, "open").await;
    let down = pay(&t.db, &a, 800_000, "down").await;
    let unpaid = pay(&t.db, &a, 900_000, "unpaid").await;
    let gateway = Arc::new(Scripted::default());
    gateway.say(&paid.reference, Said::Paid(vnd(600_000)));
    gateway.say(&open.reference, Said::Open);
    gateway.say(&down.reference, Said::Down);
    gateway.say(&unpaid.reference, Said::Unpaid);
    let later = now() + Duration::minutes(16);
    assert_eq!(close_due(&t.db, &gateway, later).await, (1, 1));
    assert_eq!(state_of(&t.db, paid.id).await.state, "succeeded");
    assert_eq!(state_of(&t.db, unpaid.id).await.state, "expired");
    // Still open at the gateway, or the gateway is down: asked again on the next run,
    // never expired blindly.
    assert_eq!(state_of(&t.db, open.id).await.state, "pending");
    assert_eq!(state_of(&t.db, down.id).await.state, "pending");
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 600_000);

    gateway.say(&down.reference, Said::Paid(vnd(800_000)));
    gateway.say(&open.reference, Said::Unpaid);
    assert_eq!(close_due(&t.db, &gateway, later).await, (1, 1));
    assert_eq!(state_of(&t.db, down.id).await.state, "succeeded");
    assert_eq!(state_of(&t.db, open.id).await.state, "expired");
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 1_400_000);
    support::assert_books_balance(&t.db, &a).await;
}

#[tokio::test]
async fn a_failure_the_gateway_reported_is_final_but_our_giving_up_is_not() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "f@example.com", Currency::Vnd).await;
    let refused = pay(&t.db, &a, 500_000, "refused").await;
    let abandoned = pay(&t.db, &a, 500_000, "abandoned").await;
    let paid = Outcome::Paid {
        amount: vnd(500_000),
        gateway_ref: None,
    };
    payment::settle(
        &t.db,
        Gateway::VnPay,
        &refused.reference,
        &Outcome::Failed {
            reason: Failure::Vnpay { code: "51".into() },
        },
    )
    .await
    .unwrap();
    payment::settle(
        &t.db,
        Gateway::VnPay,
        &abandoned.reference,
        &Outcome::GaveUp {
            reason: Failure::Unreachable {
                gateway: Gateway::VnPay,
            },
        },
    )
    .await
    .unwrap();
    assert_eq!(
        payment::settle(&t.db, Gateway::VnPay, &refused.reference, &paid)
            .await
            .unwrap(),
        Settled::Already(State::Failed)
    );
    assert!(matches!(
        payment::settle(&t.db, Gateway::VnPay, &abandoned.reference, &paid)
            .await
            .unwrap(),
        Settled::Credited(_)
    ));
    // A failure after we gave up changes nothing either.
    let p = pay(&t.db, &a, 500_000, "late-fail").await;
    let gateway = Arc::new(Scripted::default());
    close_due(&t.db, &gateway, now() + Duration::minutes(16)).await;
    assert_eq!(
        payment::settle(
            &t.db,
            Gateway::VnPay,
            &p.reference,
            &Outcome::Failed {
                reason: Failure::TimedOut
            }
        )
        .await
        .unwrap(),
        Settled::Already(State::Expired)
    );
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 500_000);
    support::assert_books_balance(&t.db, &a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_late_paid_callbacks_duplicates_and_expiry_runs_credits_each_payment_once() {
    let t = TestDb::new().await;
    let accounts = [
        customer(&t.db, "s1@example.com", Currency::Vnd).await,
        customer(&t.db, "s2@example.com", Currency::Vnd).await,
    ];
    let gateway = Arc::new(Scripted::default());
    let mut payments = Vec::new();
    for i in 0..16i64 {
        let account = &accounts[usize::try_from(i % 2).unwrap()];
        let p = pay(&t.db, account, 500_000 + i * 1_000, &format!("storm-{i}")).await;
        // A quarter the gateway reports paid when asked; a quarter it cannot answer for;
        // the rest it reports unpaid (their callbacks are still on the way).
        gateway.say(
            &p.reference,
            match i % 4 {
                0 => Said::Paid(vnd(p.amount_minor)),
                1 => Said::Down,
                _ => Said::Unpaid,
            },
        );
        payments.push(p);
    }
    let later = now() + Duration::minutes(16);
    let mut tasks = Vec::new();
    for round in 0..4 {
        for p in &payments {
            // Three of four payments get their paid callback (duplicated); i % 4 == 3 never.
            let i = payments.iter().position(|q| q.id == p.id).unwrap();
            if i % 4 != 3 {
                let (db, reference) = (t.db.clone(), p.reference.clone());
                let outcome = Outcome::Paid {
                    amount: vnd(p.amount_minor),
                    gateway_ref: Some(format!("G-{i}")),
                };
                tasks.push(tokio::spawn(async move {
                    payment::settle(&db, Gateway::VnPay, &reference, &outcome)
                        .await
                        .unwrap();
                }));
            }
        }
        let (db, gateway) = (t.db.clone(), gateway.clone());
        tasks.push(tokio::spawn(async move {
            let _ = round;
            gateways::close_due(&db, &scripted::gateways(gateway), later)
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for (i, p) in payments.iter().enumerate() {
        let now_state = state_of(&t.db, p.id).await.state;
        let expected = if i % 4 == 3 { "expired" } else { "succeeded" };
        assert_eq!(now_state, expected, "payment {i}");
    }
    for account in &accounts {
        let credited: i64 = payment_row::Entity::find()
            .filter(payment_row::Column::AccountId.eq(account.as_str()))
            .filter(payment_row::Column::State.eq("succeeded"))
            .all(t.db.conn())
            .await
            .unwrap()
            .iter()
            .map(|p| p.amount_minor)
            .sum();
        assert_eq!(
            support::total(&t.db, account, Currency::Vnd).await,
            credited,
            "each credit once"
        );
        assert_eq!(top_up_rows(&t.db, account).await.len(), 8);
        support::assert_books_balance(&t.db, account).await;
    }
}

fn vnpay_config(secret: &SecretString) -> vnpay::VnPayConfig {
    vnpay::VnPayConfig {
        tmn_code: "DEMOSHOP".into(),
        hash_secret: secret.clone(),
        pay_url: String::new(),
        return_url: String::new(),
        api_url: String::new(),
    }
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
    let nobody_paid = Arc::new(Scripted::default());
    assert_eq!(close_due(&t.db, &nobody_paid, now()).await, (0, 2));

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
            (
                kind,
                vnpay::handle_ipn(&db, &vnpay_config(&secret), &query).await,
            )
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
    // Every payment was settled by exactly one call, the two expired ones too: paid is
    // paid, however late.
    assert_eq!(confirmed, 12);

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
            support::total(&t.db, account, Currency::Vnd).await,
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
        support::assert_books_balance(&t.db, account).await;
    }
    let expired: Vec<_> = payments[10..].iter().map(|p| p.id).collect();
    for id in expired {
        let p = payment_row::Entity::find_by_id(id)
            .one(t.db.conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            p.state, "succeeded",
            "a late paid IPN credits an expired payment"
        );
    }
}

#[tokio::test]
async fn a_signed_ipn_for_another_merchant_is_refused_and_credits_nothing() {
    let t = TestDb::new().await;
    let secret = SecretString::from("shared-secret".to_owned());
    let a = customer(&t.db, "m@example.com", Currency::Vnd).await;
    let p = pay(&t.db, &a, 500_000, "m").await;
    let mut theirs = vnpay_config(&secret);
    theirs.tmn_code = "OTHERSHOP".into();
    // Signed with the same secret (as another terminal of a shared account would be),
    // but naming our terminal is what makes it ours: DEMOSHOP ≠ OTHERSHOP.
    let call = ipn(&secret, &p.reference, 50_000_000, "00", false);
    assert_eq!(
        vnpay::handle_ipn(&t.db, &theirs, &call).await,
        IpnAnswer::Other
    );
    assert_eq!(state_of(&t.db, p.id).await.state, "pending");
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 0);
}

#[tokio::test]
async fn a_payment_without_its_ledger_row_never_reads_as_credited() {
    let t = TestDb::new().await;
    let a = customer(&t.db, "l@example.com", Currency::Vnd).await;
    let p = pay(&t.db, &a, 500_000, "l").await;
    payment_row::Entity::update_many()
        .col_expr(
            payment_row::Column::LedgerTransactionId,
            sea_orm::sea_query::Expr::value(Option::<i64>::None),
        )
        .filter(payment_row::Column::Id.eq(p.id))
        .exec(t.db.conn())
        .await
        .unwrap();
    let paid = Outcome::Paid {
        amount: vnd(500_000),
        gateway_ref: None,
    };
    let settled = payment::settle(&t.db, Gateway::VnPay, &p.reference, &paid).await;
    assert!(settled.is_err(), "{settled:?}");
    // Nothing committed: the payment is still pending, nothing credited.
    assert_eq!(state_of(&t.db, p.id).await.state, "pending");
    assert_eq!(support::total(&t.db, &a, Currency::Vnd).await, 0);
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
        reason: Failure::Vnpay { code: "24".into() },
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
