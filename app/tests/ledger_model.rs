//! Model-based test of the ledger: random sequences of top-ups (payments created,
//! settled paid, failed, given up on, paid late after expiry, paid with a wrong
//! amount), voucher grants with and without expiry, charges, expiry runs and the clock
//! moving on, voucher codes redeemed (within and beyond a campaign's per-account cap,
//! a disabled one, a repeated click), applied both to the domain (on SQLite or PostgreSQL) and to a small
//! in-memory reference model. After every step the balances, every grant's remainder,
//! every payment's state, the number of ledger rows and the audit must agree.
//!
//! 1,000 sequences by default; `LEDGER_MODEL_CASES=20000` runs more. proptest shrinks a
//! failing sequence to a short one and prints it.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

mod support;

use app::domain::db::{Db, now};
use app::domain::entities::{payment as payment_row, transaction, voucher_grant};
use app::domain::ledger::{self, ChargeRequest, VoucherCredit};
use app::domain::payment::{self, NewPayment, Outcome};
use app::domain::voucher::{self, RedeemError};
use app::model::ledger::Service;
use app::model::money::{Currency, Money};
use app::model::top_up::Gateway;
use app::model::voucher::{CampaignCodes, CreditExpiry, NewCampaign, read_code};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::sync::atomic::{AtomicU64, Ordering};
use support::{TestDb, customer};

#[derive(Clone, Copy, Debug)]
enum How {
    Paid,
    WrongAmount,
    Failed,
    GaveUp,
}

#[derive(Clone, Debug)]
enum Op {
    Pay(i64),
    Settle(usize, How),
    ExpirePayment(usize),
    Grant(i64, Option<i64>),
    Charge(i64),
    Advance(i64),
    ExpiryRun,
    /// Apply Code with one of [`CAMPAIGNS`]' codes, a new click.
    Redeem(usize),
    /// The previous Apply Code click sent again (same token).
    RedeemAgain,
}

/// The campaigns every sequence redeems from: (code, amount, credit expiry in days
/// after redemption, per-account cap, enabled).
const CAMPAIGNS: [(&str, i64, Option<u32>, i32, bool); 3] = [
    ("MODELDAY", 150_000, Some(1), 1, true),
    ("MODELTWICE", 70_000, None, 2, true),
    ("MODELOFF", 90_000, None, 1, false),
];

fn op() -> impl Strategy<Value = Op> {
    let how = prop_oneof![
        3 => Just(How::Paid),
        1 => Just(How::WrongAmount),
        1 => Just(How::Failed),
        1 => Just(How::GaveUp),
    ];
    prop_oneof![
        3 => (1..3_000_000i64).prop_map(Op::Pay),
        3 => (any::<usize>(), how).prop_map(|(i, h)| Op::Settle(i, h)),
        1 => any::<usize>().prop_map(Op::ExpirePayment),
        3 => (1..1_000_000i64, proptest::option::of(1..600i64)).prop_map(|(a, e)| Op::Grant(a, e)),
        4 => (1..2_500_000i64).prop_map(Op::Charge),
        2 => (1..300i64).prop_map(Op::Advance),
        1 => Just(Op::ExpiryRun),
        2 => any::<usize>().prop_map(Op::Redeem),
        1 => Just(Op::RedeemAgain),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PayState {
    Pending,
    Succeeded,
    FailedByGateway,
    FailedByUs,
    Expired,
}

#[derive(Debug, Default)]
struct Model {
    top_up: i64,
    /// (remaining, expires at) per grant, in creation order.
    grants: Vec<(i64, Option<DateTime<Utc>>)>,
    payments: Vec<(i64, PayState)>,
    rows: u64,
}

impl Model {
    fn voucher(&self) -> i64 {
        self.grants.iter().map(|g| g.0).sum()
    }

    /// Voucher credits past their date leave through one Expiry row per grant.
    fn expire(&mut self, at: DateTime<Utc>) {
        for g in &mut self.grants {
            if g.0 > 0 && g.1.is_some_and(|e| e <= at) {
                g.0 = 0;
                self.rows += 1;
            }
        }
    }

    fn charge(&mut self, amount: i64, at: DateTime<Utc>) {
        self.expire(at);
        if amount > self.top_up + self.voucher() {
            self.rows += 1; // the Failed row
            return;
        }
        let mut order: Vec<usize> = (0..self.grants.len())
            .filter(|i| self.grants[*i].0 > 0)
            .collect();
        order.sort_by_key(|i| (self.grants[*i].1.is_none(), self.grants[*i].1, *i));
        let mut left = amount;
        for i in order {
            if left == 0 {
                break;
            }
            let take = left.min(self.grants[i].0);
            self.grants[i].0 -= take;
            left -= take;
            self.rows += 1;
        }
        if left > 0 {
            self.top_up -= left;
            self.rows += 1;
        }
    }

    fn settle(&mut self, i: usize, how: How) {
        let (amount, state) = self.payments[i];
        let open = state == PayState::Pending;
        let new = match how {
            How::Paid if open || matches!(state, PayState::Expired | PayState::FailedByUs) => {
                self.top_up += amount;
                PayState::Succeeded
            }
            How::Failed if open => PayState::FailedByGateway,
            How::GaveUp if open => PayState::FailedByUs,
            _ => state,
        };
        self.payments[i].1 = new;
    }
}

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

fn state_of(stored: &payment_row::Model) -> PayState {
    match (stored.state.as_str(), stored.closed_by.as_deref()) {
        ("pending", _) => PayState::Pending,
        ("succeeded", _) => PayState::Succeeded,
        ("expired", _) => PayState::Expired,
        ("failed", Some("us")) => PayState::FailedByUs,
        _ => PayState::FailedByGateway,
    }
}

/// The sequence's payment an operation names (by index, wrapping), as stored now.
async fn nth_payment(
    db: &Db,
    account: &str,
    refs: &[String],
    i: usize,
) -> Result<Option<(String, payment_row::Model)>, String> {
    let Some(reference) = refs.get(i % refs.len().max(1)) else {
        return Ok(None);
    };
    let stored = payment::of_account(db.conn(), account, reference)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("payment vanished")?;
    Ok(Some((reference.clone(), stored)))
}

async fn apply(
    db: &Db,
    account: &str,
    refs: &mut Vec<String>,
    clicks: &[(String, String)],
    op: &Op,
    at: DateTime<Utc>,
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    match op {
        Op::Pay(amount) => {
            let txn = db.write().await.map_err(|x| e(&x))?;
            let new = NewPayment {
                account_id: account.to_owned(),
                amount: vnd(*amount),
                gateway: Gateway::VnPay,
                client_token: format!("t{}", refs.len()),
                consent_version: "model".into(),
            };
            let made = payment::create_in(&txn, &new, Duration::minutes(15), at)
                .await
                .map_err(|x| e(&x))?;
            txn.commit().await.map_err(|x| e(&x))?;
            refs.push(made.reference);
        }
        Op::Settle(i, how) => {
            let Some((reference, stored)) = nth_payment(db, account, refs, *i).await? else {
                return Ok(());
            };
            let outcome = match how {
                How::Paid => Outcome::Paid {
                    amount: vnd(stored.amount_minor),
                    gateway_ref: Some("G".into()),
                },
                How::WrongAmount => Outcome::Paid {
                    amount: vnd(stored.amount_minor + 1),
                    gateway_ref: None,
                },
                How::Failed => Outcome::Failed {
                    reason: "declined".into(),
                },
                How::GaveUp => Outcome::GaveUp {
                    reason: "unreachable".into(),
                },
            };
            payment::settle(db, Gateway::VnPay, &reference, &outcome)
                .await
                .map_err(|x| e(&x))?;
        }
        Op::ExpirePayment(i) => {
            let Some((_, stored)) = nth_payment(db, account, refs, *i).await? else {
                return Ok(());
            };
            payment::expire(db, &stored, at).await.map_err(|x| e(&x))?;
        }
        Op::Grant(amount, expires_in) => {
            let txn = db.write().await.map_err(|x| e(&x))?;
            let credit = VoucherCredit {
                account_id: account.to_owned(),
                code: "MODEL".into(),
                amount: vnd(*amount),
                expires_at: expires_in.map(|m| at + Duration::minutes(m)),
                description: "model grant".into(),
                origin: None,
            };
            ledger::grant_voucher_in(&txn, &credit, at)
                .await
                .map_err(|x| e(&x))?;
            txn.commit().await.map_err(|x| e(&x))?;
        }
        Op::Charge(amount) => {
            let txn = db.write().await.map_err(|x| e(&x))?;
            let request = ChargeRequest {
                account_id: account.to_owned(),
                service: Service::AiInference,
                resource: "model".into(),
                description: "model charge".into(),
                amount: vnd(*amount),
                idempotency_key: None,
            };
            ledger::charge_in(&txn, &request, at)
                .await
                .map_err(|x| e(&x))?;
            txn.commit().await.map_err(|x| e(&x))?;
        }
        Op::Advance(_) => {}
        Op::ExpiryRun => {
            ledger::expire_due(db, at).await.map_err(|x| e(&x))?;
        }
        Op::Redeem(_) | Op::RedeemAgain => {
            let Some((code, token)) = clicks.last() else {
                return Ok(());
            };
            let typed = read_code(code).map_err(|x| e(&x))?;
            let txn = db.write().await.map_err(|x| e(&x))?;
            // The throttle is tested on its own; the model follows the money.
            match voucher::redeem_in(&txn, account, &typed, Some(token), chrono_tz::UTC, at).await {
                Ok(_) => txn.commit().await.map_err(|x| e(&x))?,
                Err(RedeemError::AlreadyRedeemed | RedeemError::Disabled) => {}
                Err(x) => return Err(e(&x)),
            }
        }
    }
    Ok(())
}

async fn compare(db: &Db, account: &str, refs: &[String], model: &Model) -> Result<(), String> {
    let balances = ledger::balances(db.conn(), account, Currency::Vnd)
        .await
        .map_err(|e| e.to_string())?;
    let got = (
        balances.top_up.to_minor().unwrap_or(-1),
        balances.voucher.to_minor().unwrap_or(-1),
    );
    if got != (model.top_up, model.voucher()) {
        return Err(format!(
            "balances (top-up, voucher) {got:?}, model {:?}",
            (model.top_up, model.voucher())
        ));
    }
    let grants: Vec<i64> = voucher_grant::Entity::find()
        .filter(voucher_grant::Column::AccountId.eq(account))
        .order_by_asc(voucher_grant::Column::Id)
        .all(db.conn())
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|g| g.remaining_minor)
        .collect();
    let expected: Vec<i64> = model.grants.iter().map(|g| g.0).collect();
    if grants != expected {
        return Err(format!("grant remainders {grants:?}, model {expected:?}"));
    }
    for (i, reference) in refs.iter().enumerate() {
        let stored = payment::of_account(db.conn(), account, reference)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("payment vanished")?;
        if state_of(&stored) != model.payments[i].1 {
            return Err(format!(
                "payment {i} is {} (closed by {:?}), model {:?}",
                stored.state, stored.closed_by, model.payments[i].1
            ));
        }
    }
    let rows = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account))
        .count(db.conn())
        .await
        .map_err(|e| e.to_string())?;
    if rows != model.rows {
        return Err(format!("{rows} ledger rows, model {}", model.rows));
    }
    let problems = ledger::audit(db.conn(), account)
        .await
        .map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        return Err(format!("audit: {problems:?}"));
    }
    Ok(())
}

async fn campaigns(db: &Db) {
    for (code, amount, expiry_days, cap, enabled) in CAMPAIGNS {
        let made = voucher::create_campaign(
            db,
            &NewCampaign {
                name: code.into(),
                description: format!("{code} credits"),
                amounts: vec![vnd(amount)],
                codes: CampaignCodes::Shared(code.into()),
                valid_from: None,
                valid_until: None,
                credit_expiry: expiry_days.map_or(CreditExpiry::Never, CreditExpiry::DaysAfter),
                max_redemptions: None,
                per_account_limit: cap,
            },
            now(),
        )
        .await
        .unwrap();
        if !enabled {
            voucher::disable(db, made.id).await.unwrap();
        }
    }
}

async fn run(db: &Db, ops: &[Op]) -> Result<(), String> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    let account = customer(db, &format!("model{n}@example.com"), Currency::Vnd).await;
    let mut model = Model::default();
    let mut refs = Vec::new();
    // Apply Code clicks so far: (code, token).
    let mut clicks: Vec<(String, String)> = Vec::new();
    let mut redeemed = [0i32; CAMPAIGNS.len()];
    let mut at = now();
    for (step, op) in ops.iter().enumerate() {
        if let Op::Advance(minutes) = op {
            at += Duration::minutes(*minutes);
        }
        if let Op::Redeem(i) = op {
            let code = CAMPAIGNS[i % CAMPAIGNS.len()].0;
            clicks.push((code.to_lowercase(), format!("click-{step}")));
        }
        apply(db, &account, &mut refs, &clicks, op, at)
            .await
            .map_err(|e| format!("step {step} {op:?}: {e}"))?;
        match op {
            Op::Pay(amount) => {
                model.payments.push((*amount, PayState::Pending));
                model.rows += 1;
            }
            Op::Settle(i, how) if !model.payments.is_empty() => {
                let i = i % model.payments.len();
                model.settle(i, *how);
            }
            Op::ExpirePayment(i) if !model.payments.is_empty() => {
                let i = i % model.payments.len();
                if model.payments[i].1 == PayState::Pending {
                    model.payments[i].1 = PayState::Expired;
                }
            }
            Op::Grant(amount, expires_in) => {
                model
                    .grants
                    .push((*amount, expires_in.map(|m| at + Duration::minutes(m))));
                model.rows += 1;
            }
            Op::Charge(amount) => model.charge(*amount, at),
            Op::ExpiryRun => model.expire(at),
            Op::Redeem(i) => {
                let (_, amount, expiry_days, cap, enabled) = CAMPAIGNS[i % CAMPAIGNS.len()];
                let n = &mut redeemed[i % CAMPAIGNS.len()];
                if enabled && *n < cap {
                    *n += 1;
                    let expires = expiry_days.map(|d| at + Duration::days(i64::from(d)));
                    model.grants.push((amount, expires));
                    model.rows += 1;
                }
            }
            _ => {}
        }
        compare(db, &account, &refs, &model)
            .await
            .map_err(|e| format!("after step {step} {op:?}: {e}"))?;
    }
    Ok(())
}

#[test]
fn the_ledger_agrees_with_its_model_after_every_step() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(TestDb::new());
    rt.block_on(campaigns(&t.db));
    let cases = std::env::var("LEDGER_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..16), |ops| {
        rt.block_on(run(&t.db, &ops)).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    drop(t);
}
