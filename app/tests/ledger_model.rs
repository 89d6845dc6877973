//! Model-based test of the ledger: random sequences of top-ups (payments created,
//! settled paid, failed, given up on, paid late after expiry, paid with a wrong
//! amount), voucher grants with and without expiry, charges, expiry runs and the clock
//! moving on, voucher codes redeemed (within and beyond a campaign's per-account cap,
//! a disabled one, a repeated click), plan upgrades paid from the balance (prorated,
//! short balances refused), cancellations and renewals at the period's end with grace
//! and the fall back to the free plan, operators' adjustments of either bucket (small
//! ones at once, large ones held until a second operator approves; a debit never below
//! zero), charge-backs of credited top-ups (what is left taken back first in, first out,
//! the rest owed and paid from the next top-ups), applied both to the domain (on SQLite
//! or PostgreSQL) and to a small in-memory reference model. After every step the balances, every grant's remainder,
//! every payment's state, the number of ledger rows and the audit must agree.
//!
//! 1,000 sequences by default, shared out among [`RUNNERS`] runners, each on its own
//! database; `LEDGER_MODEL_CASES=20000` runs more. proptest shrinks a failing sequence to
//! a short one and prints it.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::adjustment::{self, AdjustmentError, Operator, Thresholds};
use app::domain::audit::Actor;
use app::domain::auth;
use app::domain::db::{Db, now};
use app::domain::entities::{
    account, adjustment as adjustment_row, payment as payment_row, subscription, transaction, user,
    voucher_grant,
};
use app::domain::gateways::failure::Failure;
use app::domain::ledger::{self, ChargeRequest, VoucherCredit};
use app::domain::payment::{self, NewPayment, Outcome};
use app::domain::plan::{self, PlanError};
use app::domain::reversal::{self, ReversalError};
use app::domain::voucher::{self, RedeemError};
use app::model::ledger::Bucket;
use app::model::ledger::Service;
use app::model::money::{Currency, Money};
use app::model::operator::{AdjustmentSpec, Decision, ReasonCode};
use app::model::plan::period_start;
use app::model::session::Role;
use app::model::top_up::Gateway;
use app::model::voucher::{CampaignCodes, CreditExpiry, NewCampaign, read_code};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
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
    /// A payment made and paid at once (so that charge-backs have top-ups to reverse).
    TopUp(i64),
    Settle(usize, How),
    ExpirePayment(usize),
    Grant(i64, Option<i64>),
    Charge(i64),
    /// Charges arriving together, applied in one transaction in this order (the group
    /// commit's batch).
    Burst(Vec<i64>),
    Advance(i64),
    ExpiryRun,
    /// Apply Code with one of [`CAMPAIGNS`]' codes, a new click.
    Redeem(usize),
    /// The previous Apply Code click sent again (same token).
    RedeemAgain,
    /// Upgrade to Pro or Business (by index), a new click.
    Upgrade(usize),
    /// Cancel the paid plan (at the period's end; at once during grace).
    Cancel,
    /// The clock moves to the period's end (or the grace's end) and the renewal runs.
    PeriodEnd,
    /// An operator adjusts the top-up (false) or voucher (true) bucket by a signed
    /// amount; at or above [`THRESHOLD`] it waits for approval.
    Adjust(bool, i64),
    /// A second operator approves the oldest waiting adjustment.
    Approve,
    /// A charge-back of one of the credited payments (by index among them, wrapping),
    /// opened and approved at once.
    Reverse(usize),
}

/// The default approval threshold for VND.
const THRESHOLD: i64 = 5_000_000;

/// The paid plans every sequence may buy, by code and monthly price (₫); index 0 is the
/// free plan.
const PLANS: [(&str, i64); 3] = [("free", 0), ("pro", 200_000), ("business", 500_000)];
const GRACE_DAYS: i64 = 3;

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
        2 => (1..3_000_000i64).prop_map(Op::TopUp),
        3 => (any::<usize>(), how).prop_map(|(i, h)| Op::Settle(i, h)),
        1 => any::<usize>().prop_map(Op::ExpirePayment),
        3 => (1..1_000_000i64, proptest::option::of(1..600i64)).prop_map(|(a, e)| Op::Grant(a, e)),
        4 => (1..2_500_000i64).prop_map(Op::Charge),
        2 => proptest::collection::vec(1..1_500_000i64, 2..6).prop_map(Op::Burst),
        2 => (1..300i64).prop_map(Op::Advance),
        1 => Just(Op::ExpiryRun),
        2 => any::<usize>().prop_map(Op::Redeem),
        1 => Just(Op::RedeemAgain),
        2 => any::<usize>().prop_map(Op::Upgrade),
        1 => Just(Op::Cancel),
        2 => Just(Op::PeriodEnd),
        3 => (any::<bool>(), -6_000_000..6_000_000i64)
            .prop_filter("moves credit", |(_, a)| *a != 0)
            .prop_map(|(v, a)| Op::Adjust(v, a)),
        1 => Just(Op::Approve),
        2 => any::<usize>().prop_map(Op::Reverse),
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
    plan: Plan,
    /// Adjustments waiting for approval: (voucher bucket?, signed amount, asked at).
    pending: Vec<(bool, i64, DateTime<Utc>)>,
    /// Each payment's ledger row's place in the account's rows (its id order).
    pay_seq: Vec<u64>,
    /// Operators' top-up credits: (place, amount).
    top_up_credits: Vec<(u64, i64)>,
    /// Payments reversed, by index.
    reversed: Vec<usize>,
    /// What each reversal still owes, oldest first.
    owed: Vec<i64>,
}

/// The account's plan as the model follows it.
#[derive(Debug, Default)]
struct Plan {
    /// Index into [`PLANS`].
    current: usize,
    /// The paid plan's period; `None` on the free plan (its period rolls by itself).
    period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    cancel_scheduled: bool,
    grace_until: Option<DateTime<Utc>>,
}

/// The monthly period of `anchor`'s sequence holding `at`, worked out by stepping.
fn period_at(anchor: DateTime<Utc>, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let mut n = 0;
    while period_start(anchor, n + 1) <= at {
        n += 1;
    }
    (period_start(anchor, n), period_start(anchor, n + 1))
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
        if !self.spend(amount, at) {
            self.rows += 1; // the Failed row
        }
    }

    /// Credits still spendable at `at` (grants past their date are about to expire).
    fn spendable(&self, at: DateTime<Utc>) -> i64 {
        let live: i64 = self
            .grants
            .iter()
            .filter(|g| g.1.is_none_or(|e| e > at))
            .map(|g| g.0)
            .sum();
        self.top_up + live
    }

    /// Expires what is due, then spends `amount` voucher credits first, soonest-expiring
    /// first, then top-up credits; `false` (nothing spent) when short.
    fn spend(&mut self, amount: i64, at: DateTime<Utc>) -> bool {
        self.expire(at);
        if amount > self.top_up + self.voucher() {
            return false;
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
        true
    }

    /// An upgrade: refused during grace or to a plan that costs no more; otherwise the
    /// price difference × time left / period length, rounded down, paid in full or not
    /// at all (a short balance changes nothing, not even expiry).
    fn upgrade(&mut self, to: usize, anchor: DateTime<Utc>, at: DateTime<Utc>) {
        let from = self.plan.current;
        if self.plan.grace_until.is_some() || PLANS[to].1 <= PLANS[from].1 {
            return;
        }
        let (start, end) = self.plan.period.unwrap_or_else(|| period_at(anchor, at));
        let amount = i64::try_from(
            i128::from(PLANS[to].1 - PLANS[from].1) * i128::from((end - at).num_seconds())
                / i128::from((end - start).num_seconds()),
        )
        .unwrap();
        if amount > 0 && (amount > self.spendable(at) || !self.spend(amount, at)) {
            return;
        }
        self.plan = Plan {
            current: to,
            period: Some((start, end)),
            cancel_scheduled: false,
            grace_until: None,
        };
    }

    fn cancel(&mut self, anchor: DateTime<Utc>, at: DateTime<Utc>) {
        if self.plan.current == 0 {
            return;
        }
        self.plan.cancel_scheduled = true;
        if self.plan.grace_until.is_some() {
            self.renew_once(anchor, at);
        }
    }

    /// When [`Op::PeriodEnd`] moves the clock to.
    fn period_end(&self, anchor: DateTime<Utc>, at: DateTime<Utc>) -> DateTime<Utc> {
        match (self.plan.grace_until, self.plan.period) {
            (Some(until), _) => until,
            (None, Some((_, end))) => end,
            (None, None) => period_at(anchor, at).1,
        }
    }

    /// Renews every period that has ended by `at`, stopping at a short balance or the
    /// free plan.
    fn renew(&mut self, anchor: DateTime<Utc>, at: DateTime<Utc>) {
        while self.plan.period.is_some_and(|(_, end)| end <= at) {
            if !self.renew_once(anchor, at) {
                break;
            }
        }
    }

    /// One period's renewal; `true` when it was paid and the plan is still a paid one.
    fn renew_once(&mut self, anchor: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        let Some((_, end)) = self.plan.period else {
            return false;
        };
        let free = Plan::default();
        if self.plan.cancel_scheduled {
            self.plan = free;
            return false;
        }
        let price = PLANS[self.plan.current].1;
        if self.spend(price, at) {
            self.plan.period = Some((end, period_at(anchor, end).1));
            self.plan.grace_until = None;
            return true;
        }
        let until = *self
            .plan
            .grace_until
            .get_or_insert(end + Duration::days(GRACE_DAYS));
        if at >= until {
            self.plan = free;
        }
        false
    }

    /// An adjustment applied: a credit adds (a voucher credit is a grant that never
    /// expires); a debit takes from the bucket, voucher grants soonest-expiring first
    /// after expiring what is due, or changes nothing when the bucket is short.
    fn adjust(&mut self, voucher: bool, amount: i64, at: DateTime<Utc>) -> bool {
        match (voucher, amount > 0) {
            (false, true) => {
                self.top_up += amount;
                self.top_up_credits.push((self.rows + 1, amount));
            }
            (false, false) if self.top_up >= -amount => self.top_up += amount,
            (true, true) => self.grants.push((amount, None)),
            (true, false) if self.spendable(at) - self.top_up >= -amount => {
                let top_up = self.top_up;
                // Voucher credits only: spend with the top-up hidden (one row per
                // grant touched, and the expiries).
                self.top_up = 0;
                self.spend(-amount, at);
                self.top_up = top_up;
                return true;
            }
            _ => return false,
        }
        self.rows += 1;
        true
    }

    /// A request: large ones wait (a debit larger than the bucket is refused even then),
    /// small ones apply.
    fn request(&mut self, voucher: bool, amount: i64, at: DateTime<Utc>) {
        if amount.abs() < THRESHOLD {
            self.adjust(voucher, amount, at);
            return;
        }
        let held = if voucher { self.voucher() } else { self.top_up };
        if amount > 0 || held >= -amount {
            self.pending.push((voucher, amount, at));
        }
    }

    /// The oldest request: expired after seven days (nothing applied), applied if it
    /// fits, otherwise left waiting.
    fn approve(&mut self, at: DateTime<Utc>) {
        let Some(&(voucher, amount, asked)) = self.pending.first() else {
            return;
        };
        if at >= asked + Duration::days(7) || self.adjust(voucher, amount, at) {
            self.pending.remove(0);
        }
    }

    /// A credited top-up pays what charge-backs still owe, oldest first, one row each.
    fn settle_owed(&mut self) {
        for owed in self.owed.iter_mut().filter(|o| **o > 0) {
            let pay = (*owed).min(self.top_up);
            if pay == 0 {
                break;
            }
            self.top_up -= pay;
            *owed -= pay;
            self.rows += 1;
        }
    }

    /// A charge-back of credited payment `i`: what is left of it (first in, first out:
    /// the top-up balance less every top-up credit after it) is taken back, the rest
    /// is owed. Once per payment.
    fn reverse(&mut self, i: usize) {
        let (amount, state) = self.payments[i];
        if state != PayState::Succeeded || self.reversed.contains(&i) {
            return;
        }
        let seq = self.pay_seq[i];
        let later: i64 = self
            .payments
            .iter()
            .zip(&self.pay_seq)
            .filter(|((_, s), q)| *s == PayState::Succeeded && **q > seq)
            .map(|((a, _), _)| *a)
            .chain(
                self.top_up_credits
                    .iter()
                    .filter(|(q, _)| *q > seq)
                    .map(|(_, a)| *a),
            )
            .sum();
        let take = (self.top_up - later).clamp(0, amount);
        if take > 0 {
            self.top_up -= take;
            self.rows += 1;
        }
        self.owed.push(amount - take);
        self.reversed.push(i);
    }

    fn settle(&mut self, i: usize, how: How) {
        let (amount, state) = self.payments[i];
        let open = state == PayState::Pending;
        let new = match how {
            How::Paid if open || matches!(state, PayState::Expired | PayState::FailedByUs) => {
                self.top_up += amount;
                self.settle_owed();
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
    staff: &Staff,
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
        Op::TopUp(amount) => {
            Box::pin(apply(
                db,
                account,
                refs,
                clicks,
                staff,
                &Op::Pay(*amount),
                at,
            ))
            .await?;
            let reference = refs.last().cloned().ok_or("no payment made")?;
            payment::settle(
                db,
                Gateway::VnPay,
                &reference,
                &Outcome::Paid {
                    amount: vnd(*amount),
                    gateway_ref: Some("G".into()),
                },
            )
            .await
            .map_err(|x| e(&x))?;
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
                    reason: Failure::Declined {
                        gateway: Gateway::VnPay,
                    },
                },
                How::GaveUp => Outcome::GaveUp {
                    reason: Failure::Unreachable {
                        gateway: Gateway::VnPay,
                    },
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
        Op::Burst(amounts) => {
            let requests: Vec<ChargeRequest> = amounts
                .iter()
                .map(|amount| ChargeRequest {
                    account_id: account.to_owned(),
                    service: Service::AiInference,
                    resource: "model".into(),
                    description: "model burst".into(),
                    amount: vnd(*amount),
                    idempotency_key: None,
                })
                .collect();
            // In the same batch, charges to a neighbour account (as the group commit
            // batches across accounts): the model's account must come out the same.
            static NEIGHBOURS: AtomicU64 = AtomicU64::new(0);
            let n = NEIGHBOURS.fetch_add(1, Ordering::SeqCst);
            let neighbour = customer(db, &format!("neighbour{n}@example.com"), Currency::Vnd).await;
            let txn = db.write().await.map_err(|x| e(&x))?;
            let top_up = ledger::TopUp {
                account_id: neighbour.clone(),
                amount: vnd(10_000_000),
                gateway: "PayPal".into(),
                reference: format!("neighbour{n}"),
            };
            ledger::record_top_up_in(&txn, &top_up, app::model::ledger::Status::Success, at)
                .await
                .map_err(|x| e(&x))?;
            let mut ids = [account, neighbour.as_str()];
            ids.sort_unstable();
            let locked = ledger::lock_accounts(&txn, &ids).await.map_err(|x| e(&x))?;
            let theirs = ChargeRequest {
                account_id: neighbour.clone(),
                amount: vnd(1_000),
                ..requests[0].clone()
            };
            let batches: Vec<Vec<&ChargeRequest>> = locked
                .iter()
                .map(|l| {
                    if l.id == account {
                        requests.iter().collect()
                    } else {
                        vec![&theirs, &theirs]
                    }
                })
                .collect();
            let outcomes = ledger::charge_accounts_locked(&txn, &locked, &batches, at)
                .await
                .map_err(|x| e(&x))?;
            for outcome in outcomes.into_iter().flatten() {
                outcome.map_err(|x| e(&x))?;
            }
            txn.commit().await.map_err(|x| e(&x))?;
            let left = ledger::balances(db.conn(), &neighbour, Currency::Vnd)
                .await
                .map_err(|x| e(&x))?;
            if left.total() != vnd(10_000_000 - 2_000) {
                return Err(format!("the neighbour holds {}", left.total()));
            }
        }
        Op::Advance(_) => {}
        Op::ExpiryRun => {
            ledger::expire_due(db, at).await.map_err(|x| e(&x))?;
        }
        Op::Upgrade(i) => {
            let to = PLANS[1 + i % 2].0;
            let token = uuid::Uuid::new_v4().to_string();
            let request = plan::UpgradeRequest {
                account_id: account,
                to_code: to,
                token: Some(&token),
                expected: None,
                actor: "model",
                dates: app::domain::settings::LocalTime::UTC,
            };
            match plan::upgrade(db, &request, at).await {
                Ok(_)
                | Err(
                    PlanError::Short(_)
                    | PlanError::NotAnUpgrade(_)
                    | PlanError::AlreadyOn(_)
                    | PlanError::RenewalUnpaid(_),
                ) => {}
                Err(x) => return Err(e(&x)),
            }
        }
        Op::Cancel => match plan::schedule_change(db, account, None, "model", at).await {
            Ok(_) | Err(PlanError::NothingToCancel) => {}
            Err(x) => return Err(e(&x)),
        },
        Op::PeriodEnd => {
            plan::renew_account(db, account, at, Duration::days(GRACE_DAYS))
                .await
                .map_err(|x| e(&x))?;
        }
        Op::Adjust(voucher, amount) => {
            let spec = AdjustmentSpec {
                bucket: if *voucher {
                    Bucket::Voucher
                } else {
                    Bucket::TopUp
                },
                amount: vnd(*amount),
                reason: ReasonCode::Correction,
                comment: "model adjustment".into(),
                description: "Correction".into(),
            };
            let key = uuid::Uuid::new_v4().to_string();
            let by = Operator { user: &staff.0 };
            let thresholds = Thresholds::default();
            match adjustment::submit(db, account, &spec, &key, by, &thresholds, at).await {
                Ok(_) | Err(AdjustmentError::WouldGoNegative { .. }) => {}
                Err(x) => return Err(e(&x)),
            }
        }
        Op::Reverse(i) => {
            // One of the credited payments (so that most sequences reverse something).
            let credited: Vec<String> = payment_row::Entity::find()
                .filter(payment_row::Column::AccountId.eq(account))
                .filter(payment_row::Column::State.eq("succeeded"))
                .order_by_asc(payment_row::Column::Id)
                .all(db.conn())
                .await
                .map_err(|x| e(&x))?
                .into_iter()
                .map(|p| p.reference)
                .collect();
            let Some(reference) = credited.get(i % credited.len().max(1)).cloned() else {
                return Ok(());
            };
            match reversal::open(
                db,
                &reference,
                "model charge-back",
                &Actor::System,
                None,
                at,
            )
            .await
            {
                Ok(opened) => match reversal::approve(db, opened.id, &staff.1, at).await {
                    Ok(_) | Err(ReversalError::AlreadyDecided(_)) => {}
                    Err(x) => return Err(e(&x)),
                },
                Err(ReversalError::NotCredited(_)) => {}
                Err(x) => return Err(e(&x)),
            }
        }
        Op::Approve => {
            let oldest = adjustment_row::Entity::find()
                .filter(adjustment_row::Column::AccountId.eq(account))
                .filter(adjustment_row::Column::Status.eq("pending"))
                .order_by_asc(adjustment_row::Column::Id)
                .one(db.conn())
                .await
                .map_err(|x| e(&x))?;
            if let Some(request) = oldest {
                let by = Operator { user: &staff.1 };
                match adjustment::decide(db, request.id, Decision::Approve, "", by, at).await {
                    Ok(_)
                    | Err(AdjustmentError::WouldGoNegative { .. } | AdjustmentError::Expired(_)) => {
                    }
                    Err(x) => return Err(e(&x)),
                }
            }
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
    let owed = reversal::owed(db.conn(), account)
        .await
        .map_err(|e| e.to_string())?;
    if owed != model.owed.iter().sum::<i64>() {
        return Err(format!("owed {owed}, model {:?}", model.owed));
    }
    let problems = ledger::audit(db.conn(), account)
        .await
        .map_err(|e| e.to_string())?;
    if !problems.is_empty() {
        return Err(format!("audit: {problems:?}"));
    }
    let sub = subscription::Entity::find_by_id(account.to_owned())
        .one(db.conn())
        .await
        .map_err(|e| e.to_string())?;
    let stored_plan = match &sub {
        Some(s) => plan::catalogue(db.conn())
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|p| p.plan.id == s.plan_id)
            .map(|p| p.plan.code)
            .ok_or("subscription names no plan")?,
        None => "free".to_owned(),
    };
    let grace = sub.as_ref().and_then(|s| s.grace_until);
    let cancel = sub.as_ref().is_some_and(|s| s.scheduled_plan_id.is_some());
    let want = (
        PLANS[model.plan.current].0,
        model.plan.grace_until,
        model.plan.cancel_scheduled,
    );
    if (stored_plan.as_str(), grace, cancel) != want {
        return Err(format!(
            "plan (code, grace, cancel scheduled) {:?}, model {want:?}",
            (stored_plan, grace, cancel)
        ));
    }
    if let (Some(s), Some(period)) = (&sub, model.plan.period)
        && (s.period_start, s.period_end) != period
    {
        return Err(format!(
            "period {:?}, model {period:?}",
            (s.period_start, s.period_end)
        ));
    }
    // The header's one-statement read (`account::standing`) says what the reads above
    // say.
    let standing = app::domain::account::standing(db.conn(), account, Currency::Vnd)
        .await
        .map_err(|e| e.to_string())?;
    let read = (
        &standing.balances,
        standing.grace_until,
        standing.owed_minor,
    );
    if read != (&balances, grace, owed) {
        return Err(format!(
            "standing {standing:?}, separate reads {:?}",
            (&balances, grace, owed)
        ));
    }
    // So does a signed-in request's one read of its user, account and header
    // (`account::user_and_account`), which joins the same subqueries to the account.
    let owner = account::Entity::find_by_id(account.to_owned())
        .one(db.conn())
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no account")?
        .user_id;
    let joined = app::domain::account::user_and_account(db.conn(), owner)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|(_, held)| held)
        .ok_or("the owner's read found no account")?;
    if (joined.account.id.as_str(), &joined.standing) != (account, &standing) {
        return Err(format!(
            "user_and_account {:?}, standing {standing:?}",
            (&joined.account.id, &joined.standing)
        ));
    }
    Ok(())
}

/// The paid plans every sequence may buy.
async fn plans(db: &Db) {
    for (rank, (code, price)) in PLANS.iter().enumerate().skip(1) {
        plan::define(
            db,
            &app::model::plan::PlanSpec {
                code: (*code).into(),
                name: code.to_uppercase(),
                description: String::new(),
                features: Vec::new(),
                limits: Vec::new(),
                prices: vec![vnd(*price)],
                rank: i32::try_from(rank).unwrap(),
                is_default: false,
                active: true,
            },
            &Actor::System,
            now(),
        )
        .await
        .unwrap();
    }
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
            &Actor::System,
            now(),
        )
        .await
        .unwrap();
        if !enabled {
            voucher::disable(db, made.id, &Actor::System, now())
                .await
                .unwrap();
        }
    }
}

/// The operators who adjust (.0) and approve (.1).
type Staff = (user::Model, user::Model);

async fn staff(db: &Db) -> Staff {
    let txn = db.write().await.unwrap();
    let agent = auth::create_user(
        &*txn,
        "model-agent@example.com",
        "model-password",
        Role::Operator,
        now(),
    )
    .await
    .unwrap();
    let finance = auth::create_user(
        &*txn,
        "model-finance@example.com",
        "model-password",
        Role::Operator,
        now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    (agent, finance)
}

async fn run(db: &Db, staff: &Staff, ops: &[Op]) -> Result<(), String> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let n = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    let account = customer(db, &format!("model{n}@example.com"), Currency::Vnd).await;
    let anchor = account::Entity::find_by_id(account.clone())
        .one(db.conn())
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no account")?
        .created_at;
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
        if let Op::PeriodEnd = op {
            at = at.max(model.period_end(anchor, at));
        }
        if let Op::Redeem(i) = op {
            let code = CAMPAIGNS[i % CAMPAIGNS.len()].0;
            clicks.push((code.to_lowercase(), format!("click-{step}")));
        }
        apply(db, &account, &mut refs, &clicks, staff, op, at)
            .await
            .map_err(|e| format!("step {step} {op:?}: {e}"))?;
        match op {
            Op::Pay(amount) => {
                model.payments.push((*amount, PayState::Pending));
                model.rows += 1;
                model.pay_seq.push(model.rows);
            }
            Op::TopUp(amount) => {
                model.payments.push((*amount, PayState::Pending));
                model.rows += 1;
                model.pay_seq.push(model.rows);
                model.settle(model.payments.len() - 1, How::Paid);
            }
            Op::Reverse(i) => {
                let credited: Vec<usize> = (0..model.payments.len())
                    .filter(|j| model.payments[*j].1 == PayState::Succeeded)
                    .collect();
                if let Some(j) = credited.get(i % credited.len().max(1)) {
                    model.reverse(*j);
                }
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
            Op::Burst(amounts) => {
                for amount in amounts {
                    model.charge(*amount, at);
                }
            }
            Op::Upgrade(i) => model.upgrade(1 + i % 2, anchor, at),
            Op::Cancel => model.cancel(anchor, at),
            Op::PeriodEnd => model.renew(anchor, at),
            Op::Adjust(voucher, amount) => model.request(*voucher, *amount, at),
            Op::Approve => model.approve(at),
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

/// The sequences are shared out among this many runners at once, each with its own
/// database: a sequence spends most of its time waiting on commits (on PostgreSQL one
/// runner took 41 s for the 1,000), which runners overlap. Not one database for all: an
/// expiry run or an approval reaches every account in its database, and each runner's
/// clock moves on its own.
const RUNNERS: u32 = 4;

#[test]
fn the_ledger_agrees_with_its_model_after_every_step() {
    let cases: u32 = std::env::var("LEDGER_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runners: Vec<_> = (0..RUNNERS)
            .map(|i| {
                let share = cases / RUNNERS + u32::from(i < cases % RUNNERS);
                scope.spawn(move || run_sequences(i, share))
            })
            .collect();
        runners
            .into_iter()
            .filter_map(|runner| runner.join().unwrap().err())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `cases` random sequences on a database of their own; the first that fails, shrunk.
fn run_sequences(runner: u32, cases: u32) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(TestDb::new());
    rt.block_on(campaigns(&t.db));
    rt.block_on(plans(&t.db));
    let staff = rt.block_on(staff(&t.db));
    let defaults = Config::default();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // PROPTEST_RNG_SEED fixes the seed: each runner then takes its own from it, so
        // that they do not all run the same sequences.
        rng_seed: match defaults.rng_seed {
            RngSeed::Fixed(seed) => RngSeed::Fixed(seed + u64::from(runner)),
            random => random,
        },
        ..defaults
    });
    let result = runner
        .run(&proptest::collection::vec(op(), 1..16), |ops| {
            rt.block_on(run(&t.db, &staff, &ops))
                .map_err(TestCaseError::fail)
        })
        .map_err(|e| e.to_string());
    drop(t);
    result
}
