//! Reversals of charged-back top-ups on SQLite and (with BILLING_TEST_DB=postgres)
//! PostgreSQL: a fully unspent, a partly spent and a fully spent top-up; what was spent
//! recorded as owed and settled from the next top-ups; first in, first out between
//! top-ups; the gateway's dispute opening the request and a won dispute giving
//! everything back; one reversal per top-up and one decision under concurrency; the
//! requester never approving. The books balance and the audit chain holds throughout.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::audit::{self, Actor};
use app::domain::db::{Db, now};
use app::domain::entities::{reversal as reversal_row, transaction, user};
use app::domain::ledger::{self, ChargeRequest};
use app::domain::payment::{self, NewPayment, Outcome};
use app::domain::reversal::{self, Dispute, DisputeEvent, ReversalError};
use app::domain::{auth, operator};
use app::model::ledger::{Kind, Service};
use app::model::money::{Currency, Money};
use app::model::operator::{Capability, ReversalStatus};
use app::model::session::Role;
use app::model::top_up::Gateway;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::sync::Arc;
use support::{TestDb, customer};

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

async fn operator_with(db: &Db, email: &str) -> user::Model {
    let txn = db.write().await.unwrap();
    let user = auth::create_user(&*txn, email, "operator-password", Role::Operator, now())
        .await
        .unwrap();
    operator::grant(
        &txn,
        email,
        &[Capability::AdjustCredits, Capability::ApproveAdjustments],
        &Actor::CommandLine,
        now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    user
}

/// A VNPay top-up of `amount` paid and credited; returns its reference.
async fn paid(db: &Db, account: &str, amount: i64) -> String {
    let txn = db.write().await.unwrap();
    let made = payment::create_in(
        &txn,
        &NewPayment {
            account_id: account.into(),
            amount: vnd(amount),
            gateway: Gateway::VnPay,
            client_token: uuid::Uuid::new_v4().to_string(),
            consent_version: "test".into(),
        },
        Duration::minutes(15),
        now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    payment::settle(
        db,
        Gateway::VnPay,
        &made.reference,
        &Outcome::Paid {
            amount: vnd(amount),
            gateway_ref: Some(format!("VNP{}", made.id)),
        },
    )
    .await
    .unwrap();
    made.reference
}

async fn charge(db: &Db, account: &str, amount: i64) {
    let outcome = ledger::charge(
        db,
        &ChargeRequest {
            account_id: account.into(),
            service: Service::AiInference,
            resource: "llm".into(),
            description: "inference".into(),
            amount: vnd(amount),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    assert!(matches!(outcome, ledger::ChargeOutcome::Charged { .. }));
}

async fn top_up_balance(db: &Db, account: &str) -> i64 {
    ledger::balances(db.conn(), account, Currency::Vnd)
        .await
        .unwrap()
        .top_up
        .to_minor()
        .unwrap()
}

async fn sound(db: &Db, account: &str) {
    assert_eq!(
        ledger::audit(db.conn(), account).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        audit::verify(db.conn()).await.unwrap().problems,
        Vec::<String>::new()
    );
}

/// Opened by `agent`, approved by `finance`: (taken, owed).
async fn reverse(
    db: &Db,
    reference: &str,
    agent: &user::Model,
    finance: &user::Model,
) -> (i64, i64) {
    let opened = reversal::open(
        db,
        reference,
        "Charge-back: card reported stolen",
        &Actor::user(agent),
        Some(agent.id),
        now(),
    )
    .await
    .unwrap();
    assert!(matches!(
        reversal::approve(db, opened.id, agent, now()).await,
        Err(ReversalError::OwnRequest)
    ));
    let applied = reversal::approve(db, opened.id, finance, now())
        .await
        .unwrap();
    assert_eq!(applied.status, "applied");
    (applied.taken_minor, applied.owed_minor)
}

#[tokio::test]
async fn an_unspent_top_up_is_taken_back_whole_and_only_once() {
    let t = TestDb::new().await;
    let db = &t.db;
    let (agent, finance) = (
        operator_with(db, "agent@example.com").await,
        operator_with(db, "finance@example.com").await,
    );
    let acct = customer(db, "c@example.com", Currency::Vnd).await;
    let reference = paid(db, &acct, 100_000).await;
    assert_eq!(
        reverse(db, &reference, &agent, &finance).await,
        (100_000, 0)
    );
    assert_eq!(top_up_balance(db, &acct).await, 0);
    assert_eq!(reversal::owed(db.conn(), &acct).await.unwrap(), 0);
    // Once per top-up: opening again finds it, approving again is refused.
    let again = reversal::open(db, &reference, "again", &Actor::System, None, now())
        .await
        .unwrap();
    assert_eq!(again.status, "applied");
    assert!(matches!(
        reversal::approve(db, again.id, &finance, now()).await,
        Err(ReversalError::AlreadyDecided(ReversalStatus::Applied))
    ));
    assert_eq!(top_up_balance(db, &acct).await, 0);
    // The customer's row: kind reversal, Service "Payment Gateway", the top-up's source.
    let row = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(acct.as_str()))
        .filter(transaction::Column::Kind.eq(Kind::Reversal.as_str()))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.amount_minor, -100_000);
    assert_eq!(row.service.as_deref(), Some("payment_gateway"));
    assert_eq!(row.source, "VNPay");
    assert_eq!(row.payment_reference.as_deref(), Some(reference.as_str()));
    sound(db, &acct).await;
}

#[tokio::test]
async fn what_was_spent_is_owed_and_settled_from_the_next_top_ups() {
    let t = TestDb::new().await;
    let db = &t.db;
    let (agent, finance) = (
        operator_with(db, "agent@example.com").await,
        operator_with(db, "finance@example.com").await,
    );
    // Partly spent: 70,000 left of 100,000.
    let partly = customer(db, "partly@example.com", Currency::Vnd).await;
    let reference = paid(db, &partly, 100_000).await;
    charge(db, &partly, 30_000).await;
    assert_eq!(
        reverse(db, &reference, &agent, &finance).await,
        (70_000, 30_000)
    );
    assert_eq!(top_up_balance(db, &partly).await, 0);
    assert_eq!(reversal::owed(db.conn(), &partly).await.unwrap(), 30_000);
    // The next top-up settles it first.
    paid(db, &partly, 50_000).await;
    assert_eq!(top_up_balance(db, &partly).await, 20_000);
    assert_eq!(reversal::owed(db.conn(), &partly).await.unwrap(), 0);
    sound(db, &partly).await;

    // Fully spent: all of it owed, settled over two top-ups.
    let spent = customer(db, "spent@example.com", Currency::Vnd).await;
    let reference = paid(db, &spent, 100_000).await;
    charge(db, &spent, 100_000).await;
    assert_eq!(
        reverse(db, &reference, &agent, &finance).await,
        (0, 100_000)
    );
    paid(db, &spent, 40_000).await;
    assert_eq!(top_up_balance(db, &spent).await, 0);
    assert_eq!(reversal::owed(db.conn(), &spent).await.unwrap(), 60_000);
    paid(db, &spent, 100_000).await;
    assert_eq!(top_up_balance(db, &spent).await, 40_000);
    assert_eq!(reversal::owed(db.conn(), &spent).await.unwrap(), 0);
    let settled = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(spent.as_str()))
        .filter(transaction::Column::Kind.eq(Kind::Reversal.as_str()))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(
        settled, 2,
        "one settling row per top-up that paid off some of it"
    );
    sound(db, &spent).await;
}

#[tokio::test]
async fn top_ups_are_spent_first_in_first_out() {
    let t = TestDb::new().await;
    let db = &t.db;
    let (agent, finance) = (
        operator_with(db, "agent@example.com").await,
        operator_with(db, "finance@example.com").await,
    );
    let acct = customer(db, "c@example.com", Currency::Vnd).await;
    let first = paid(db, &acct, 100_000).await;
    let second = paid(db, &acct, 100_000).await;
    charge(db, &acct, 50_000).await;
    // The 50,000 spent came out of the first top-up.
    assert_eq!(
        reverse(db, &first, &agent, &finance).await,
        (50_000, 50_000)
    );
    assert_eq!(reverse(db, &second, &agent, &finance).await, (100_000, 0));
    assert_eq!(top_up_balance(db, &acct).await, 0);
    assert_eq!(reversal::owed(db.conn(), &acct).await.unwrap(), 50_000);
    sound(db, &acct).await;
}

#[tokio::test]
async fn a_dispute_opens_the_request_and_winning_it_gives_everything_back() {
    let t = TestDb::new().await;
    let db = &t.db;
    let finance = operator_with(db, "finance@example.com").await;
    let acct = customer(db, "c@example.com", Currency::Vnd).await;
    let reference = paid(db, &acct, 100_000).await;
    charge(db, &acct, 60_000).await;
    let notice = |event| Dispute {
        gateway: Gateway::Stripe,
        reference: reference.clone(),
        dispute_id: "dp_1".into(),
        event,
        detail: "fraudulent".into(),
    };
    reversal::dispute(db, &notice(DisputeEvent::Opened), now())
        .await
        .unwrap();
    // A redelivered event opens nothing new.
    reversal::dispute(db, &notice(DisputeEvent::Opened), now())
        .await
        .unwrap();
    let rows = reversal::for_account(db.conn(), &acct).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status.as_str(), rows[0].source.as_str()),
        ("pending", "gateway")
    );
    assert_eq!(
        top_up_balance(db, &acct).await,
        40_000,
        "nothing moves before approval"
    );
    let applied = reversal::approve(db, rows[0].id, &finance, now())
        .await
        .unwrap();
    assert_eq!((applied.taken_minor, applied.owed_minor), (40_000, 60_000));
    // 25,000 of what is owed is settled by a top-up, then the dispute is won.
    paid(db, &acct, 25_000).await;
    assert_eq!(reversal::owed(db.conn(), &acct).await.unwrap(), 35_000);
    reversal::dispute(db, &notice(DisputeEvent::Won), now())
        .await
        .unwrap();
    let won = reversal_row::Entity::find_by_id(applied.id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(won.status, "reinstated");
    assert_eq!(reversal::owed(db.conn(), &acct).await.unwrap(), 0);
    // Taken 40,000 and settled 25,000 come back.
    assert_eq!(top_up_balance(db, &acct).await, 65_000);
    sound(db, &acct).await;

    // Won while still pending: rejected, nothing moved.
    let other = customer(db, "d@example.com", Currency::Vnd).await;
    let reference = paid(db, &other, 80_000).await;
    let event = |event| Dispute {
        gateway: Gateway::PayPal,
        reference: reference.clone(),
        dispute_id: "PP-D-1".into(),
        event,
        detail: "MERCHANDISE_OR_SERVICE_NOT_RECEIVED".into(),
    };
    reversal::dispute(db, &event(DisputeEvent::Opened), now())
        .await
        .unwrap();
    reversal::dispute(db, &event(DisputeEvent::Won), now())
        .await
        .unwrap();
    let rows = reversal::for_account(db.conn(), &other).await.unwrap();
    assert_eq!(rows[0].status, "rejected");
    assert_eq!(top_up_balance(db, &other).await, 80_000);
    sound(db, &other).await;
}

#[tokio::test]
async fn one_reversal_per_top_up_and_one_approval_under_concurrency() {
    let t = TestDb::new().await;
    let other = Arc::new(t.another_process().await);
    let db = Arc::new(t.db.clone());
    let approvers = [
        operator_with(&db, "f1@example.com").await,
        operator_with(&db, "f2@example.com").await,
    ];
    let acct = customer(&db, "c@example.com", Currency::Vnd).await;
    let reference = paid(&db, &acct, 100_000).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let pool = if i % 2 == 0 {
            db.clone()
        } else {
            other.clone()
        };
        let reference = reference.clone();
        tasks.push(tokio::spawn(async move {
            reversal::open(&pool, &reference, "dispute", &Actor::System, None, now())
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let pool = if i % 2 == 0 {
            db.clone()
        } else {
            other.clone()
        };
        let approver = approvers[i % 2].clone();
        let id = ids[0];
        tasks.push(tokio::spawn(async move {
            reversal::approve(&pool, id, &approver, now()).await.is_ok()
        }));
    }
    let mut applied = 0;
    for task in tasks {
        applied += usize::from(task.await.unwrap());
    }
    assert_eq!(applied, 1);
    assert_eq!(top_up_balance(&db, &acct).await, 0);
    sound(&db, &acct).await;
}
