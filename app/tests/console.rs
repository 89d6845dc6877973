//! The operator console's rules on SQLite and (with BILLING_TEST_DB=postgres)
//! PostgreSQL: capabilities granted and revoked (logged); adjustments applied at once
//! below the threshold and held for a second operator above it; the requester never
//! deciding their own; expiry; a debit never below zero; one request per click and one
//! decision per request under concurrency; the account lookup by every key; and the
//! audit log's chain catching an edited, a deleted and a truncated entry.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::adjustment::{self, AdjustmentError, Operator, Thresholds};
use app::domain::audit::{self, Actor};
use app::domain::db::{Db, now};
use app::domain::entities::{adjustment as adjustment_row, audit_entry, transaction, user};
use app::domain::ledger::{self, TopUp, VoucherCredit};
use app::domain::{auth, lookup, operator};
use app::model::ledger::{Bucket, Kind, Status};
use app::model::money::{Currency, Money};
use app::model::operator::{AdjustmentForm, AdjustmentStatus, Capability, Decision, LookupKey};
use app::model::session::Role;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::sync::Arc;
use support::{TestDb, customer};

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

/// An operator user holding `capabilities`.
async fn operator_with(db: &Db, email: &str, capabilities: &[Capability]) -> user::Model {
    let txn = db.write().await.unwrap();
    let user = auth::create_user(&*txn, email, "operator-password", Role::Operator, now())
        .await
        .unwrap();
    operator::grant(&txn, email, capabilities, &Actor::CommandLine, now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    user
}

/// Tops the account up by `amount` (a settled payment).
async fn top_up(db: &Db, account_id: &str, amount: Money) {
    let txn = db.write().await.unwrap();
    ledger::record_top_up_in(
        &txn,
        &TopUp {
            account_id: account_id.into(),
            amount,
            gateway: "VNPay".into(),
            reference: format!("T{}", uuid::Uuid::new_v4().simple()),
        },
        Status::Success,
        now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

fn form(account_id: &str, bucket: &str, direction: &str, amount: &str) -> AdjustmentForm {
    AdjustmentForm {
        account_id: account_id.into(),
        bucket: bucket.into(),
        direction: direction.into(),
        amount: amount.into(),
        reason: "goodwill".into(),
        comment: "GPU outage on 20 Nov, ticket 4411".into(),
        description: "Credit for the GPU outage on 20 Nov".into(),
        token: String::new(),
    }
}

async fn submit(
    db: &Db,
    by: &user::Model,
    form: &AdjustmentForm,
    key: &str,
    at: DateTime<Utc>,
) -> Result<app::model::operator::AdjustmentOutcome, AdjustmentError> {
    let spec = form.validate(Currency::Vnd).unwrap();
    adjustment::submit(
        db,
        &form.account_id,
        &spec,
        key,
        Operator { user: by },
        &Thresholds::default(),
        at,
    )
    .await
}

async fn balances(db: &Db, account_id: &str) -> (i64, i64) {
    let b = ledger::balances(db.conn(), account_id, Currency::Vnd)
        .await
        .unwrap();
    (b.top_up.to_minor().unwrap(), b.voucher.to_minor().unwrap())
}

async fn books_balance(db: &Db, account_id: &str) {
    assert_eq!(
        ledger::audit(db.conn(), account_id).await.unwrap(),
        Vec::<String>::new()
    );
}

async fn chain_is_whole(db: &Db) -> u64 {
    let verified = audit::verify(db.conn()).await.unwrap();
    assert_eq!(verified.problems, Vec::<String>::new());
    verified.entries
}

#[tokio::test]
async fn capabilities_are_granted_revoked_and_logged_and_customers_hold_none() {
    let t = TestDb::new().await;
    let db = &t.db;
    let ops = operator_with(db, "ops@example.com", &[Capability::ViewAccounts]).await;
    customer(db, "c@example.com", Currency::Vnd).await;
    assert_eq!(
        operator::of_user(db.conn(), ops.id).await.unwrap(),
        vec![Capability::ViewAccounts]
    );
    let txn = db.write().await.unwrap();
    let held = operator::grant(
        &txn,
        "OPS@example.com",
        &[Capability::AdjustCredits, Capability::ViewAccounts],
        &Actor::CommandLine,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        held,
        vec![Capability::ViewAccounts, Capability::AdjustCredits]
    );
    let held = operator::revoke(
        &txn,
        "ops@example.com",
        &[Capability::ViewAccounts],
        &Actor::CommandLine,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(held, vec![Capability::AdjustCredits]);
    assert!(matches!(
        operator::grant(
            &txn,
            "c@example.com",
            Capability::ALL,
            &Actor::CommandLine,
            now()
        )
        .await,
        Err(operator::CapabilityError::NotAnOperator(_))
    ));
    assert!(matches!(
        operator::grant(
            &txn,
            "nobody@example.com",
            Capability::ALL,
            &Actor::CommandLine,
            now()
        )
        .await,
        Err(operator::CapabilityError::NoSuchUser(_))
    ));
    txn.commit().await.unwrap();
    // The first grant, the second and the revocation: three entries.
    let granted = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.starts_with("capability."))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(granted, 3);
    chain_is_whole(db).await;
}

#[tokio::test]
async fn small_adjustments_apply_at_once_to_either_bucket_and_reach_the_customer() {
    let t = TestDb::new().await;
    let db = &t.db;
    let ops = operator_with(db, "ops@example.com", &[Capability::AdjustCredits]).await;
    let acct = customer(db, "c@example.com", Currency::Vnd).await;
    top_up(db, &acct, vnd(300_000)).await;

    let credit = submit(
        db,
        &ops,
        &form(&acct, "top_up", "credit", "50000"),
        "k1",
        now(),
    )
    .await
    .unwrap();
    assert_eq!(credit.adjustment.status, AdjustmentStatus::Applied);
    assert!(!credit.replayed);
    assert_eq!(balances(db, &acct).await, (350_000, 0));

    submit(
        db,
        &ops,
        &form(&acct, "voucher", "credit", "80000"),
        "k2",
        now(),
    )
    .await
    .unwrap();
    submit(
        db,
        &ops,
        &form(&acct, "voucher", "debit", "30000"),
        "k3",
        now(),
    )
    .await
    .unwrap();
    submit(
        db,
        &ops,
        &form(&acct, "top_up", "debit", "100000"),
        "k4",
        now(),
    )
    .await
    .unwrap();
    assert_eq!(balances(db, &acct).await, (250_000, 50_000));

    // The customer's Credit History shows each with the description they read.
    let rows = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(acct.as_str()))
        .filter(transaction::Column::Kind.eq(Kind::Adjustment.as_str()))
        .all(db.conn())
        .await
        .unwrap();
    let mut amounts: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.bucket.clone(), r.amount_minor))
        .collect();
    amounts.sort();
    assert_eq!(
        amounts,
        [
            ("top_up".to_owned(), -100_000),
            ("top_up".to_owned(), 50_000),
            ("voucher".to_owned(), -30_000),
            ("voucher".to_owned(), 80_000)
        ]
    );
    assert!(rows.iter().all(|r| {
        r.description == "Credit for the GPU outage on 20 Nov"
            && r.service.as_deref() == Some("billing_support")
    }));
    books_balance(db, &acct).await;

    // A debit larger than the bucket is refused, and writes nothing.
    let before = transaction::Entity::find().count(db.conn()).await.unwrap();
    let refused = submit(
        db,
        &ops,
        &form(&acct, "voucher", "debit", "60000"),
        "k5",
        now(),
    )
    .await;
    match refused {
        Err(AdjustmentError::WouldGoNegative { available, .. }) => {
            assert_eq!(available, vnd(50_000));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        transaction::Entity::find().count(db.conn()).await.unwrap(),
        before
    );
    assert_eq!(balances(db, &acct).await, (250_000, 50_000));
    // Each applied adjustment is in the log with its reason.
    let applied = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("adjustment.applied"))
        .filter(audit_entry::Column::AccountId.eq(acct.as_str()))
        .all(db.conn())
        .await
        .unwrap();
    assert_eq!(applied.len(), 4);
    assert!(applied[0].reason.starts_with("Goodwill: GPU outage"));
    chain_is_whole(db).await;
}

#[tokio::test]
async fn large_adjustments_wait_for_a_second_operator_who_is_never_the_requester() {
    let t = TestDb::new().await;
    let db = &t.db;
    let agent = operator_with(
        db,
        "agent@example.com",
        &[Capability::AdjustCredits, Capability::ApproveAdjustments],
    )
    .await;
    let finance = operator_with(db, "finance@example.com", &[Capability::ApproveAdjustments]).await;
    let acct = customer(db, "c@example.com", Currency::Vnd).await;

    // 5,000,000 ₫ is the default threshold: at it, the request waits.
    let asked = submit(
        db,
        &agent,
        &form(&acct, "top_up", "credit", "5000000"),
        "big",
        now(),
    )
    .await
    .unwrap();
    let id = asked.adjustment.id;
    assert_eq!(asked.adjustment.status, AdjustmentStatus::Pending);
    assert!(asked.adjustment.expires_at.is_some());
    assert_eq!(balances(db, &acct).await, (0, 0));

    // The requester cannot approve or reject it, even holding the capability.
    for decision in [Decision::Approve, Decision::Reject] {
        assert!(matches!(
            adjustment::decide(db, id, decision, "", Operator { user: &agent }, now()).await,
            Err(AdjustmentError::OwnRequest)
        ));
    }
    // Nor can someone else withdraw it.
    assert!(matches!(
        adjustment::decide(
            db,
            id,
            Decision::Withdraw,
            "",
            Operator { user: &finance },
            now()
        )
        .await,
        Err(AdjustmentError::NotYours)
    ));
    assert_eq!(balances(db, &acct).await, (0, 0));

    let approved = adjustment::decide(
        db,
        id,
        Decision::Approve,
        "Checked ticket 4411",
        Operator { user: &finance },
        now(),
    )
    .await
    .unwrap();
    assert_eq!(approved.status, "applied");
    assert_eq!(approved.decided_by, Some(finance.id));
    assert_eq!(balances(db, &acct).await, (5_000_000, 0));
    // Decided once.
    assert!(matches!(
        adjustment::decide(
            db,
            id,
            Decision::Approve,
            "",
            Operator { user: &finance },
            now()
        )
        .await,
        Err(AdjustmentError::AlreadyDecided(AdjustmentStatus::Applied))
    ));
    assert_eq!(balances(db, &acct).await, (5_000_000, 0));

    // Rejected and withdrawn requests change nothing.
    let second = submit(
        db,
        &agent,
        &form(&acct, "top_up", "debit", "5000000"),
        "b2",
        now(),
    )
    .await
    .unwrap();
    adjustment::decide(
        db,
        second.adjustment.id,
        Decision::Reject,
        "No ticket",
        Operator { user: &finance },
        now(),
    )
    .await
    .unwrap();
    let third = submit(
        db,
        &agent,
        &form(&acct, "top_up", "debit", "5000000"),
        "b3",
        now(),
    )
    .await
    .unwrap();
    adjustment::decide(
        db,
        third.adjustment.id,
        Decision::Withdraw,
        "",
        Operator { user: &agent },
        now(),
    )
    .await
    .unwrap();
    assert_eq!(balances(db, &acct).await, (5_000_000, 0));
    books_balance(db, &acct).await;
    let actions: Vec<String> = audit_entry::Entity::find()
        .filter(audit_entry::Column::AccountId.eq(acct.as_str()))
        .all(db.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "adjustment.requested",
            "adjustment.approved",
            "adjustment.requested",
            "adjustment.rejected",
            "adjustment.requested",
            "adjustment.withdrawn"
        ]
    );
    chain_is_whole(db).await;
}

#[tokio::test]
async fn a_request_expires_after_seven_days_and_a_debit_is_checked_again_when_approved() {
    let t = TestDb::new().await;
    let db = &t.db;
    let agent = operator_with(db, "agent@example.com", &[Capability::AdjustCredits]).await;
    let finance = operator_with(db, "finance@example.com", &[Capability::ApproveAdjustments]).await;
    let acct = customer(db, "c@example.com", Currency::Vnd).await;
    top_up(db, &acct, vnd(9_000_000)).await;
    let t0 = now();

    let late = submit(
        db,
        &agent,
        &form(&acct, "top_up", "credit", "6000000"),
        "late",
        t0,
    )
    .await
    .unwrap();
    let too_late = t0 + Duration::days(7);
    assert!(matches!(
        adjustment::decide(
            db,
            late.adjustment.id,
            Decision::Approve,
            "",
            Operator { user: &finance },
            too_late
        )
        .await,
        Err(AdjustmentError::Expired(_))
    ));
    let row = adjustment_row::Entity::find_by_id(late.adjustment.id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "expired");
    assert_eq!(balances(db, &acct).await, (9_000_000, 0));

    // The job expires the ones nobody looked at.
    let idle = submit(
        db,
        &agent,
        &form(&acct, "top_up", "credit", "7000000"),
        "idle",
        t0,
    )
    .await
    .unwrap();
    assert_eq!(
        adjustment::expire_due(db, t0 + Duration::days(6))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        adjustment::expire_due(db, t0 + Duration::days(8))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        adjustment::decide(
            db,
            idle.adjustment.id,
            Decision::Approve,
            "",
            Operator { user: &finance },
            t0 + Duration::days(8)
        )
        .await,
        Err(AdjustmentError::AlreadyDecided(AdjustmentStatus::Expired))
    ));

    // A debit asked while the credit was there, approved after it was spent: refused,
    // and the request stays pending (to be rejected, or to expire).
    let debit = submit(
        db,
        &agent,
        &form(&acct, "top_up", "debit", "8000000"),
        "debit",
        t0,
    )
    .await
    .unwrap();
    let txn = db.write().await.unwrap();
    let locked = ledger::lock_account(&txn, &acct).await.unwrap();
    ledger::adjust_locked(
        &txn,
        &locked,
        Bucket::TopUp,
        vnd(-2_000_000),
        "spent",
        "x",
        t0,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert!(matches!(
        adjustment::decide(
            db,
            debit.adjustment.id,
            Decision::Approve,
            "",
            Operator { user: &finance },
            t0
        )
        .await,
        Err(AdjustmentError::WouldGoNegative { .. })
    ));
    let row = adjustment_row::Entity::find_by_id(debit.adjustment.id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "pending");
    assert_eq!(balances(db, &acct).await, (7_000_000, 0));
    books_balance(db, &acct).await;
    chain_is_whole(db).await;
}

#[tokio::test]
async fn one_request_per_click_and_one_decision_per_request_under_concurrency() {
    let t = TestDb::new().await;
    let other = Arc::new(t.another_process().await);
    let db = Arc::new(t.db.clone());
    let agent = operator_with(&db, "agent@example.com", &[Capability::AdjustCredits]).await;
    let approvers = [
        operator_with(&db, "f1@example.com", &[Capability::ApproveAdjustments]).await,
        operator_with(&db, "f2@example.com", &[Capability::ApproveAdjustments]).await,
    ];
    let acct = customer(&db, "c@example.com", Currency::Vnd).await;

    // Eight submissions of one click, over two pools: one adjustment, applied once.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let pool = if i % 2 == 0 {
            db.clone()
        } else {
            other.clone()
        };
        let (agent, acct) = (agent.clone(), acct.clone());
        tasks.push(tokio::spawn(async move {
            submit(
                &pool,
                &agent,
                &form(&acct, "top_up", "credit", "40000"),
                "click",
                now(),
            )
            .await
            .unwrap()
            .replayed
        }));
    }
    let mut replays = 0;
    for task in tasks {
        replays += usize::from(task.await.unwrap());
    }
    assert_eq!(replays, 7);
    assert_eq!(balances(&db, &acct).await, (40_000, 0));

    // Two approvers approve one large request at once: it applies once.
    let big = submit(
        &db,
        &agent,
        &form(&acct, "top_up", "credit", "9000000"),
        "big",
        now(),
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for (i, approver) in approvers.iter().enumerate() {
        for round in 0..4 {
            let pool = if (i + round) % 2 == 0 {
                db.clone()
            } else {
                other.clone()
            };
            let approver = approver.clone();
            let id = big.adjustment.id;
            tasks.push(tokio::spawn(async move {
                adjustment::decide(
                    &pool,
                    id,
                    Decision::Approve,
                    "",
                    Operator { user: &approver },
                    now(),
                )
                .await
                .is_ok()
            }));
        }
    }
    let mut approved = 0;
    for task in tasks {
        approved += usize::from(task.await.unwrap());
    }
    assert_eq!(approved, 1);
    assert_eq!(balances(&db, &acct).await, (9_040_000, 0));
    books_balance(&db, &acct).await;
    chain_is_whole(&db).await;
}

#[tokio::test]
async fn the_lookup_finds_an_account_by_each_of_its_keys() {
    let t = TestDb::new().await;
    let db = &t.db;
    let acct = customer(db, "lan@example.com", Currency::Vnd).await;
    customer(db, "other@example.com", Currency::Vnd).await;
    // Billing details with a tax code, a payment with both references, a voucher.
    app::domain::billing::save(
        db,
        user::Entity::find()
            .filter(user::Column::Email.eq("lan@example.com"))
            .one(db.conn())
            .await
            .unwrap()
            .unwrap()
            .id,
        &app::model::billing::BillingProfile {
            billing_type: app::model::billing::BillingType::Company,
            name: "Công ty Lan".into(),
            email: "billing@lan.vn".into(),
            address: "1 Lê Lợi, Hà Nội".into(),
            country: "VN".into(),
            currency: Currency::Vnd,
            tax_code: Some("0101234567".into()),
        },
    )
    .await
    .unwrap();
    db.conn()
        .execute_unprepared(&format!(
            "INSERT INTO payments (reference, account_id, gateway, amount_minor, currency, state, \
             client_token, gateway_ref, created_at, expires_at) VALUES ('VNP123', '{acct}', \
             'vnpay', 100000, 'VND', 'succeeded', 'tok', '14012345', '2026-11-01 00:00:00+00', \
             '2026-11-01 00:15:00+00')"
        ))
        .await
        .unwrap();
    let txn = db.write().await.unwrap();
    ledger::grant_voucher_in(
        &txn,
        &VoucherCredit {
            account_id: acct.clone(),
            code: "WELCOME".into(),
            amount: vnd(10_000),
            expires_at: None,
            description: "Welcome".into(),
            origin: None,
        },
        now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let found = |q: &'static str| async move {
        let result = lookup::search(db.conn(), q).await.unwrap();
        result
            .hits
            .into_iter()
            .map(|h| (h.account_id, h.matched))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found("LAN@example.com").await,
        [(acct.clone(), LookupKey::Email)]
    );
    let by_id = lookup::search(db.conn(), &acct).await.unwrap();
    assert_eq!(by_id.hits[0].matched, LookupKey::AccountId);
    assert_eq!(by_id.hits[0].billing_name.as_deref(), Some("Công ty Lan"));
    assert_eq!(
        found("VNP123").await,
        [(acct.clone(), LookupKey::PaymentReference)]
    );
    assert_eq!(
        found("14012345").await,
        [(acct.clone(), LookupKey::GatewayReference)]
    );
    assert_eq!(
        found("0101234567").await,
        [(acct.clone(), LookupKey::TaxCode)]
    );
    assert_eq!(found("nobody@example.com").await, []);
    assert_eq!(found("NOPE").await, []);
}

#[tokio::test]
async fn the_chain_catches_an_edited_a_deleted_and_a_truncated_entry() {
    let t = TestDb::new().await;
    let db = &t.db;
    let ops = operator_with(db, "ops@example.com", &[Capability::AdjustCredits]).await;
    let acct = customer(db, "c@example.com", Currency::Vnd).await;
    for i in 0..5 {
        submit(
            db,
            &ops,
            &form(&acct, "top_up", "credit", "1000"),
            &format!("k{i}"),
            now(),
        )
        .await
        .unwrap();
    }
    let entries = chain_is_whole(db).await;
    assert_eq!(entries, 6); // the grant and five adjustments

    // The database refuses edits outright…
    let refused = db
        .conn()
        .execute_unprepared("UPDATE audit_log SET reason = 'nothing to see' WHERE id = 3")
        .await;
    assert!(
        refused.is_err(),
        "the append-only trigger let an UPDATE through"
    );
    assert!(
        db.conn()
            .execute_unprepared("DELETE FROM audit_log WHERE id = 3")
            .await
            .is_err()
    );
    // …so someone with the schema's rights drops the triggers first.
    if t.is_postgres() {
        db.conn()
            .execute_unprepared("DROP TRIGGER audit_log_append_only ON audit_log")
            .await
            .unwrap();
    } else {
        for name in ["audit_log_no_update", "audit_log_no_delete"] {
            db.conn()
                .execute_unprepared(&format!("DROP TRIGGER {name}"))
                .await
                .unwrap();
        }
    }
    db.conn()
        .execute_unprepared(
            "UPDATE audit_log SET reason = 'Goodwill: nothing to see here' WHERE id = 3",
        )
        .await
        .unwrap();
    let found = audit::verify(db.conn()).await.unwrap();
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert!(
        found.problems[0].starts_with("entry 3 "),
        "{:?}",
        found.problems
    );
    assert!(found.problems[0].ends_with("it was edited"));

    // Deleting entry 3 instead leaves a gap and a broken link at entry 4.
    db.conn()
        .execute_unprepared("DELETE FROM audit_log WHERE id = 3")
        .await
        .unwrap();
    let found = audit::verify(db.conn()).await.unwrap();
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.contains("entries 3–3 are missing"))
    );
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.starts_with("entry 4 does not link"))
    );

    // A clean chain whose last entry was removed disagrees with the head.
    let t2 = TestDb::new().await;
    let db2 = &t2.db;
    operator_with(db2, "ops@example.com", &[Capability::ViewAccounts]).await;
    operator_with(db2, "ops2@example.com", &[Capability::ViewAccounts]).await;
    chain_is_whole(db2).await;
    if t2.is_postgres() {
        db2.conn()
            .execute_unprepared("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            .await
            .unwrap();
    } else {
        db2.conn()
            .execute_unprepared("DROP TRIGGER audit_log_no_delete")
            .await
            .unwrap();
    }
    db2.conn()
        .execute_unprepared("DELETE FROM audit_log WHERE id = 2")
        .await
        .unwrap();
    let found = audit::verify(db2.conn()).await.unwrap();
    assert_eq!(found.entries, 1);
    assert!(found.problems[0].contains("the head says the log ends at entry 2"));
}
