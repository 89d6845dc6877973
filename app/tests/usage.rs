//! The usage API's exactly-once rules, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::api_key;
use app::domain::db::{Db, now};
use app::domain::entities::transaction;
use app::domain::ledger::{self, ChargeRequest, TopUp};
use app::domain::usage::{self, ChargeBody, Charged};
use app::model::ledger::Status;
use app::model::money::{Currency, Money};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use support::{TestDb, customer};

async fn funded(db: &Db, cents: i64) -> String {
    let acct = customer(db, "metered@example.com", Currency::Usd).await;
    let txn = db.write().await.unwrap();
    let top_up = TopUp {
        account_id: acct.clone(),
        amount: Money::from_minor(cents, Currency::Usd),
        gateway: "PayPal".into(),
        reference: "r1".into(),
    };
    ledger::record_top_up_in(&txn, &top_up, Status::Success, now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    acct
}

fn request(account: &str, amount: &str) -> (ChargeRequest, String) {
    let json = format!(
        r#"{{"account_id":"{account}","service":"gpu_container","resource":"gpu-a100","description":"1 h","amount":"{amount}"}}"#
    );
    let body = ChargeBody::parse(json.as_bytes()).unwrap();
    let fingerprint = body.fingerprint();
    let amount = body.amount_in(Currency::Usd).unwrap();
    (
        ChargeRequest {
            account_id: body.account_id,
            service: body.service,
            resource: body.resource,
            description: body.description,
            amount,
            idempotency_key: None,
        },
        fingerprint,
    )
}

async fn charge_rows(db: &Db, account: &str) -> u64 {
    transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account))
        .filter(transaction::Column::Kind.eq("charge"))
        .count(db.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_key_and_request_replays_and_charges_once() {
    let t = TestDb::new().await;
    let acct = funded(&t.db, 10_000).await;
    let key = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    let (req, fp) = request(&acct, "12.50");
    let first = usage::charge_once(&t.db, key.id, "k-1", &fp, &req)
        .await
        .unwrap();
    let Charged::Fresh(first) = first else {
        panic!("not fresh")
    };
    assert_eq!(first.status, 201);
    assert_eq!(first.body["balance"]["total"], "87.50");
    let again = usage::charge_once(&t.db, key.id, "k-1", &fp, &req)
        .await
        .unwrap();
    assert_eq!(again, Charged::Replayed(first));
    assert_eq!(charge_rows(&t.db, &acct).await, 1);

    // The same key with another amount is refused and changes nothing.
    let (other, other_fp) = request(&acct, "13.00");
    assert_eq!(
        usage::charge_once(&t.db, key.id, "k-1", &other_fp, &other)
            .await
            .unwrap(),
        Charged::KeyReused
    );
    assert_eq!(charge_rows(&t.db, &acct).await, 1);

    // Keys belong to the API key that sent them.
    let key2 = api_key::create(t.db.conn(), "svc2", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    assert!(matches!(
        usage::charge_once(&t.db, key2.id, "k-1", &fp, &req)
            .await
            .unwrap(),
        Charged::Fresh(_)
    ));
    assert_eq!(charge_rows(&t.db, &acct).await, 2);
}

#[tokio::test]
async fn a_declined_charge_replays_as_declined_with_one_failed_row() {
    let t = TestDb::new().await;
    let acct = funded(&t.db, 1_000).await;
    let key = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    let (req, fp) = request(&acct, "10.01");
    let Charged::Fresh(first) = usage::charge_once(&t.db, key.id, "big", &fp, &req)
        .await
        .unwrap()
    else {
        panic!("not fresh")
    };
    assert_eq!(first.status, 402);
    assert_eq!(first.body["error"]["code"], "insufficient_balance");
    assert_eq!(first.body["transactions"][0]["status"], "failed");
    let again = usage::charge_once(&t.db, key.id, "big", &fp, &req)
        .await
        .unwrap();
    assert_eq!(again, Charged::Replayed(first));
    assert_eq!(charge_rows(&t.db, &acct).await, 1);
    support::assert_books_balance(&t.db, &acct).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_key_charge_once() {
    let t = TestDb::new().await;
    let acct = funded(&t.db, 10_000).await;
    let key = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    let (req, fp) = request(&acct, "1.00");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (db, req, fp) = (t.db.clone(), req.clone(), fp.clone());
        tasks.push(tokio::spawn(async move {
            usage::charge_once(&db, key.id, "same-key", &fp, &req)
                .await
                .unwrap()
        }));
    }
    let mut fresh = 0;
    let mut bodies = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Charged::Fresh(a) => {
                fresh += 1;
                bodies.push(a.body);
            }
            Charged::Replayed(a) => bodies.push(a.body),
            Charged::KeyReused => panic!("same request seen as different"),
        }
    }
    assert_eq!(fresh, 1);
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every answer is the first one"
    );
    assert_eq!(charge_rows(&t.db, &acct).await, 1);
    let b = ledger::balances(t.db.conn(), &acct, Currency::Usd)
        .await
        .unwrap();
    assert_eq!(b.total().to_plain_string(), "99.00");
}

#[tokio::test]
async fn an_unknown_account_records_nothing() {
    let t = TestDb::new().await;
    let key = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    let (req, fp) = request("missing", "1.00");
    let err = usage::charge_once(&t.db, key.id, "k", &fp, &req)
        .await
        .unwrap_err();
    assert!(matches!(err, ledger::LedgerError::AccountNotFound(_)));
    assert!(
        usage::previous(t.db.conn(), key.id, "k", &fp)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn api_keys_are_stored_hashed_and_checked() {
    let t = TestDb::new().await;
    let (row, key) = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap();
    assert!(key.starts_with("bk_") && key.len() > 60);
    assert!(!row.key_hash.contains(&key));
    assert_eq!(
        api_key::authenticate(t.db.conn(), &key)
            .await
            .unwrap()
            .map(|k| k.id),
        Some(row.id)
    );
    assert!(
        api_key::authenticate(t.db.conn(), "bk_wrong")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn idempotency_records_past_their_retention_are_purged_and_recent_ones_kept() {
    use app::domain::entities::api_idempotency;
    let t = TestDb::new().await;
    let account = customer(&t.db, "p@example.com", Currency::Vnd).await;
    let key = api_key::create(t.db.conn(), "svc", &api_key::Scope::all(), now())
        .await
        .unwrap()
        .0;
    let request = |n: i64| ChargeRequest {
        account_id: account.clone(),
        service: app::model::ledger::Service::AiInference,
        resource: "r".into(),
        description: "d".into(),
        amount: Money::from_minor(n, Currency::Vnd),
        idempotency_key: None,
    };
    for n in 1..=3 {
        usage::charge_once(
            &t.db,
            key.id,
            &format!("k{n}"),
            &format!("f{n}"),
            &request(n),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        usage::purge_idempotency(t.db.conn(), now() - chrono::Duration::days(30))
            .await
            .unwrap(),
        0,
        "nothing is 30 days old yet"
    );
    assert_eq!(
        usage::purge_idempotency(t.db.conn(), now() + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        api_idempotency::Entity::find()
            .count(t.db.conn())
            .await
            .unwrap(),
        0
    );
}
