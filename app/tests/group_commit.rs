//! Group commit (`domain::group_commit`): charges that arrive together for one account
//! share a transaction, and each caller's answer is what charging them one after
//! another would have given; on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support::{self, TestDb};
use app::domain::api_key;
use app::domain::db::{Db, now};
use app::domain::entities::transaction;
use app::domain::ledger::{self, ChargeOutcome, ChargeRequest, TopUp, VoucherCredit};
use app::domain::usage::{self, ChargeBody, Charged};
use app::model::ledger::{Service, Status};
use app::model::money::{Currency, Money};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::collections::BTreeSet;
use tokio::task::JoinSet;

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::Usd)
}

/// A customer with `top_up` cents of top-up credit and, when given, voucher grants of
/// (cents, expiring in days).
async fn funded(db: &Db, email: &str, top_up: i64, grants: &[(i64, Option<i64>)]) -> String {
    let account = support::customer(db, email, Currency::Usd).await;
    let txn = db.write().await.unwrap();
    let payment = TopUp {
        account_id: account.clone(),
        amount: usd(top_up),
        gateway: "PayPal".into(),
        reference: format!("r-{email}"),
    };
    ledger::record_top_up_in(&txn, &payment, Status::Success, now())
        .await
        .unwrap();
    for (i, (cents, days)) in grants.iter().enumerate() {
        let credit = VoucherCredit {
            account_id: account.clone(),
            code: format!("GRANT{i}"),
            amount: usd(*cents),
            expires_at: days.map(|d| now() + Duration::days(d)),
            description: "test grant".into(),
            origin: None,
        };
        ledger::grant_voucher_in(&txn, &credit, now())
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    account
}

fn charge(account: &str, cents: i64) -> ChargeRequest {
    ChargeRequest {
        account_id: account.to_owned(),
        service: Service::AiInference,
        resource: "llama-70b".into(),
        description: "1,000 tokens".into(),
        amount: usd(cents),
        idempotency_key: None,
    }
}

/// 64 callers charge 3¢ each to an account holding $1.00: 33 are charged, 31 declined,
/// each charged caller sees the balance just after its own charge (every value from
/// 97¢ down to 1¢, once), and the callers' charges shared transactions.
#[tokio::test]
async fn sixty_four_callers_charging_one_account_get_exact_answers_from_shared_commits() {
    let t = TestDb::new().await;
    let account = funded(&t.db, "hot@example.com", 100, &[]).await;
    let mut callers = JoinSet::new();
    for _ in 0..64 {
        let (db, request) = (t.db.clone(), charge(&account, 3));
        callers.spawn(async move { ledger::charge(&db, &request).await.unwrap() });
    }
    let mut after = BTreeSet::new();
    let mut declined = 0;
    while let Some(outcome) = callers.join_next().await {
        match outcome.unwrap() {
            ChargeOutcome::Charged { rows, balances } => {
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].amount_minor, -3);
                assert!(after.insert(balances.total().to_minor().unwrap()));
            }
            ChargeOutcome::Declined { row, balances } => {
                declined += 1;
                assert_eq!((row.status.as_str(), row.amount_minor), ("failed", -3));
                assert!(balances.total().to_minor().unwrap() < 3);
            }
        }
    }
    assert_eq!(
        after,
        (0..33).map(|i| 97 - 3 * i).collect::<BTreeSet<i64>>()
    );
    assert_eq!(declined, 31);
    assert_eq!(support::total(&t.db, &account, Currency::Usd).await, 1);
    support::assert_books_balance(&t.db, &account).await;
    let sizes = t.db.charges().sizes();
    assert_eq!(sizes.charges, 64);
    assert!(sizes.batches < 64 && sizes.largest > 1, "{sizes:?}");
}

/// Charges to many accounts at once share transactions: each account is charged
/// exactly what it holds (5 of its 8 callers at 2¢ against 10¢; one account spends its
/// voucher grant first), its books balance, and charges to an account that does not
/// exist are refused alone.
#[tokio::test]
async fn callers_charging_many_accounts_at_once_share_commits_and_each_account_is_exact() {
    let t = TestDb::new().await;
    let mut accounts = Vec::new();
    for i in 0..8 {
        let grants: &[(i64, Option<i64>)] = if i == 0 { &[(4, Some(5))] } else { &[] };
        let top_up = if i == 0 { 6 } else { 10 };
        accounts.push(funded(&t.db, &format!("many{i}@example.com"), top_up, grants).await);
    }
    let mut callers = JoinSet::new();
    for round in 0..8 {
        for account in accounts
            .iter()
            .chain(std::iter::once(&"no-such-account".to_owned()))
        {
            if round >= 4 && account == "no-such-account" {
                continue;
            }
            let (db, request) = (t.db.clone(), charge(account, 2));
            callers.spawn(async move {
                (
                    request.account_id.clone(),
                    ledger::charge(&db, &request).await,
                )
            });
        }
    }
    let mut charged = std::collections::BTreeMap::<String, usize>::new();
    let mut unknown = 0;
    while let Some(answer) = callers.join_next().await {
        match answer.unwrap() {
            (account, Ok(ChargeOutcome::Charged { .. })) => {
                *charged.entry(account).or_default() += 1
            }
            (_, Ok(ChargeOutcome::Declined { .. })) => {}
            (account, Err(ledger::LedgerError::AccountNotFound(id))) => {
                assert_eq!(
                    (account.as_str(), id.as_str()),
                    ("no-such-account", "no-such-account")
                );
                unknown += 1;
            }
            (account, Err(e)) => panic!("{account}: {e}"),
        }
    }
    assert_eq!(unknown, 4);
    for account in &accounts {
        assert_eq!(charged.get(account), Some(&5), "{account}");
        assert_eq!(support::total(&t.db, account, Currency::Usd).await, 0);
        support::assert_books_balance(&t.db, account).await;
    }
    let voucher_rows = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(accounts[0].as_str()))
        .filter(transaction::Column::VoucherCode.is_not_null())
        .filter(transaction::Column::Status.eq("success"))
        .filter(transaction::Column::AmountMinor.lt(0))
        .count(t.db.conn())
        .await
        .unwrap();
    assert_eq!(voucher_rows, 2, "the grant's 4¢ went first, in two charges");
    let sizes = t.db.charges().sizes();
    assert_eq!(sizes.charges, 68);
    assert!(sizes.batches < 68 && sizes.largest > 1, "{sizes:?}");
}

/// Two accounts charged in one call: each gets its own charges' outcomes, in order, and
/// both balances move in the one UPDATE per bucket.
#[tokio::test]
async fn one_batch_charges_two_accounts_each_by_its_own_rules() {
    let t = TestDb::new().await;
    let a = funded(&t.db, "batch-a@example.com", 10, &[(3, None)]).await;
    let b = funded(&t.db, "batch-b@example.com", 5, &[]).await;
    let (a1, a2, b1, b2) = (charge(&a, 4), charge(&a, 8), charge(&b, 6), charge(&b, 5));
    let txn = t.db.write().await.unwrap();
    let mut ids = [a.as_str(), b.as_str()];
    ids.sort_unstable();
    let locked = ledger::lock_accounts(&txn, &[ids[0], ids[1], "no-such-account"])
        .await
        .unwrap();
    assert_eq!(
        locked.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ids
    );
    let requests: Vec<Vec<&ChargeRequest>> = locked
        .iter()
        .map(|l| {
            if l.id == a {
                vec![&a1, &a2]
            } else {
                vec![&b1, &b2]
            }
        })
        .collect();
    let outcomes = ledger::charge_accounts_locked(&txn, &locked, &requests, now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let words = |o: &Result<ChargeOutcome, ledger::LedgerError>| match o.as_ref().unwrap() {
        ChargeOutcome::Charged { rows, balances } => {
            ("charged", rows.len(), balances.total().to_minor().unwrap())
        }
        ChargeOutcome::Declined { balances, .. } => {
            ("declined", 1, balances.total().to_minor().unwrap())
        }
    };
    for (account, outcomes) in locked.iter().zip(&outcomes) {
        let seen: Vec<_> = outcomes.iter().map(words).collect();
        if account.id == a {
            // 4¢: the grant's 3¢ and 1¢ of top-up (two rows); then 8¢ of the 9¢ left.
            assert_eq!(seen, [("charged", 2, 9), ("charged", 1, 1)]);
        } else {
            assert_eq!(seen, [("declined", 1, 5), ("charged", 1, 0)]);
        }
    }
    assert_eq!(support::total(&t.db, &a, Currency::Usd).await, 1);
    assert_eq!(support::total(&t.db, &b, Currency::Usd).await, 0);
    support::assert_books_balance(&t.db, &a).await;
    support::assert_books_balance(&t.db, &b).await;
}

/// In one batch, a charge the balance cannot cover by its turn is declined alone: the
/// ones after it are still charged, in arrival order.
#[tokio::test]
async fn a_declined_charge_in_a_batch_does_not_refuse_the_others() {
    let t = TestDb::new().await;
    let account = funded(&t.db, "mixed@example.com", 10, &[]).await;
    let requests = [4, 7, 3, 5].map(|cents| charge(&account, cents));
    let txn = t.db.write().await.unwrap();
    let locked = ledger::lock_account(&txn, &account).await.unwrap();
    let outcomes =
        ledger::charge_many_locked(&txn, &locked, &requests.iter().collect::<Vec<_>>(), now())
            .await
            .unwrap();
    txn.commit().await.unwrap();
    let seen: Vec<(&str, i64)> = outcomes
        .iter()
        .map(|o| match o.as_ref().unwrap() {
            ChargeOutcome::Charged { balances, .. } => {
                ("charged", balances.total().to_minor().unwrap())
            }
            ChargeOutcome::Declined { balances, .. } => {
                ("declined", balances.total().to_minor().unwrap())
            }
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("charged", 6),
            ("declined", 6),
            ("charged", 3),
            ("declined", 3)
        ]
    );
    assert_eq!(support::total(&t.db, &account, Currency::Usd).await, 3);
    support::assert_books_balance(&t.db, &account).await;
}

/// A batch spends exactly as the same charges one after another: voucher credits first,
/// soonest-expiring grant first, a row per grant touched and one for the top-up part.
#[tokio::test]
async fn a_batch_spends_as_the_same_charges_one_after_another() {
    let t = TestDb::new().await;
    let grants = [(400, None), (500, Some(3))];
    let one_by_one = funded(&t.db, "one@example.com", 1_000, &grants).await;
    let together = funded(&t.db, "batch@example.com", 1_000, &grants).await;
    let amounts = [300, 400, 600, 200, 900];
    // Each charge in its own transaction, then the same charges in one batch.
    for cents in amounts {
        let txn = t.db.write().await.unwrap();
        ledger::charge_in(&txn, &charge(&one_by_one, cents), now())
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
    let requests = amounts.map(|cents| charge(&together, cents));
    let txn = t.db.write().await.unwrap();
    let locked = ledger::lock_account(&txn, &together).await.unwrap();
    ledger::charge_many_locked(&txn, &locked, &requests.iter().collect::<Vec<_>>(), now())
        .await
        .unwrap();
    txn.commit().await.unwrap();

    let rows = |account: String| {
        let db = t.db.clone();
        async move {
            transaction::Entity::find()
                .filter(transaction::Column::AccountId.eq(account))
                .filter(transaction::Column::Kind.eq("charge"))
                .order_by_asc(transaction::Column::Id)
                .all(db.conn())
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.bucket, r.voucher_code, r.status, r.amount_minor))
                .collect::<Vec<_>>()
        }
    };
    let expected = rows(one_by_one.clone()).await;
    // The expiring grant first; the last charge (900¢ against 400¢ left) is declined.
    assert_eq!(
        expected.first(),
        Some(&(
            "voucher".into(),
            Some("GRANT1".into()),
            "success".into(),
            -300
        ))
    );
    assert_eq!(rows(together.clone()).await, expected);
    for account in [&one_by_one, &together] {
        let b = ledger::balances(t.db.conn(), account, Currency::Usd)
            .await
            .unwrap();
        assert_eq!((b.voucher, b.top_up), (usd(0), usd(1_900 - 1_500)));
        support::assert_books_balance(&t.db, account).await;
    }
}

/// The usage API's keys in one batch: the same key and request sent eight times at once
/// charge once (one fresh answer, seven replays of it), the same key with a different
/// request is refused, and another key charges on its own.
#[tokio::test]
async fn one_key_sent_at_once_charges_once_and_a_different_request_with_it_is_refused() {
    let t = TestDb::new().await;
    let account = funded(&t.db, "keys@example.com", 10_000, &[]).await;
    let key = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    let body = |amount: &str| {
        let json = format!(
            r#"{{"account_id":"{account}","service":"ai_inference","resource":"llama","description":"tokens","amount":"{amount}"}}"#
        );
        let body = ChargeBody::parse(json.as_bytes()).unwrap();
        let mut request = charge(&account, 0);
        request.amount = body.amount_in(Currency::Usd).unwrap();
        (request, body.fingerprint())
    };
    let mut callers = JoinSet::new();
    for (i, (idempotency_key, amount)) in std::iter::repeat_n(("same", "1.00"), 8)
        .chain([("same", "2.00"), ("other", "0.50")])
        .enumerate()
    {
        let db = t.db.clone();
        let (request, fingerprint) = body(amount);
        callers.spawn(async move {
            let charged = usage::charge_once(&db, key.id, idempotency_key, &fingerprint, &request)
                .await
                .unwrap();
            (i, idempotency_key, amount, charged)
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = callers.join_next().await {
        answers.push(answer.unwrap());
    }
    // Whichever request with the key "same" came first is charged; the others with its
    // body replay its answer, the one with a different body is refused.
    let fresh: Vec<_> = answers
        .iter()
        .filter_map(|(_, key, amount, c)| match c {
            Charged::Fresh(a) => Some((*key, *amount, a.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(fresh.len(), 2, "{answers:?}");
    let (_, first_amount, first) = fresh.iter().find(|(k, ..)| *k == "same").unwrap();
    for (_, key, amount, charged) in &answers {
        match (key, charged) {
            (_, Charged::Fresh(_)) => {}
            (&"same", Charged::Replayed(a)) => {
                assert_eq!((amount, a), (first_amount, first));
            }
            (&"same", Charged::KeyReused) => assert_ne!(amount, first_amount),
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let refused = answers
        .iter()
        .filter(|(.., c)| matches!(c, Charged::KeyReused))
        .count();
    assert_eq!(refused, if *first_amount == "1.00" { 1 } else { 8 });
    let charged = if *first_amount == "1.00" { 100 } else { 200 };
    assert_eq!(
        support::total(&t.db, &account, Currency::Usd).await,
        10_000 - charged - 50
    );
    support::assert_books_balance(&t.db, &account).await;
}
