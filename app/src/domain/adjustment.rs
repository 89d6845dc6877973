//! Adjustments: an operator credits or debits one bucket of an account, with a reason
//! code, a comment and a description the customer reads.
//!
//! Rules kept here:
//! - one request per click: the requester's key is unique per account, a repeat returns
//!   the first request;
//! - below the currency's threshold it applies at once; at or above it waits for a
//!   second operator (four eyes), for [`APPROVAL_WINDOW_DAYS`], then expires;
//! - the requester can never approve or reject their own request (only withdraw it);
//! - a debit never takes a bucket below zero: refused when asked, and again when
//!   approved if the credit has gone meanwhile (the request then stays pending);
//! - each decision happens once: under the account's lock, from `pending` only.
//!
//! Every step is an audit log entry in the same transaction.

use super::audit::{self, Actor, Entry};
use super::db::Db;
use super::entities::{adjustment, user};
use super::ledger::{self, LedgerError, LockedAccount, Spent};
use super::settings::LocalTime;
use crate::model::ledger::{Balances, Bucket};
use crate::model::money::{Currency, Money};
use crate::model::operator::{
    APPROVAL_WINDOW_DAYS, AdjustmentOutcome, AdjustmentSpec, AdjustmentStatus, AdjustmentView,
    Decision, ReasonCode, default_threshold,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::json;
use std::collections::BTreeMap;

/// The amount per currency from which an adjustment needs a second operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds(BTreeMap<&'static str, Money>);

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds(
            Currency::ALL
                .iter()
                .map(|c| (c.code(), default_threshold(*c)))
                .collect(),
        )
    }
}

impl Thresholds {
    /// Parses `VND:5000000,JPY:30000,USD:200,EUR:200`; currencies left out keep their
    /// default.
    pub fn parse(text: &str) -> Result<Thresholds, String> {
        let mut out = Thresholds::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (code, amount) = part
                .split_once(':')
                .ok_or_else(|| format!("{part:?}: write CURRENCY:AMOUNT, e.g. USD:200"))?;
            let currency = Currency::from_code(&code.trim().to_uppercase())
                .ok_or_else(|| format!("{code:?} is not a currency we bill in"))?;
            let money =
                Money::parse_positive(amount, currency).map_err(|e| format!("{part:?}: {e}"))?;
            out.0.insert(currency.code(), money);
        }
        Ok(out)
    }

    /// The threshold for `currency`.
    pub fn of(&self, currency: Currency) -> Money {
        self.0
            .get(currency.code())
            .copied()
            .unwrap_or_else(|| default_threshold(currency))
    }

    /// Whether an adjustment of `amount` (either sign) waits for approval.
    pub fn needs_approval(&self, amount: Money) -> bool {
        let size = amount.to_minor().unwrap_or(i64::MAX).unsigned_abs();
        let limit = self
            .of(amount.currency())
            .to_minor()
            .unwrap_or(0)
            .unsigned_abs();
        size >= limit
    }
}

/// Why an adjustment did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AdjustmentError {
    #[error("there is no such account")]
    NoSuchAccount,
    #[error("there is no such adjustment")]
    NotFound,
    #[error("the amount is in {given}, but the account holds {account}")]
    CurrencyMismatch { given: Currency, account: Currency },
    #[error("a debit of {asked} would take the {bucket} below zero: the account has {available}")]
    WouldGoNegative {
        bucket: &'static str,
        asked: Money,
        available: Money,
    },
    #[error("you asked for this adjustment, so another operator has to decide on it")]
    OwnRequest,
    #[error("only the operator who asked for this adjustment can withdraw it")]
    NotYours,
    #[error("this adjustment is already {}", .0.label().to_lowercase())]
    AlreadyDecided(AdjustmentStatus),
    #[error("this request expired on {0} without a decision; ask again if it is still needed")]
    Expired(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Who is acting, as the rules need them.
#[derive(Clone, Debug)]
pub struct Operator<'a> {
    pub user: &'a user::Model,
}

impl Operator<'_> {
    fn actor(&self) -> Actor {
        Actor::user(self.user)
    }
}

/// Submits an adjustment: applied at once below the threshold, otherwise a pending
/// request. A repeat of the same `key` for the account returns the first one. Dates in
/// the answer are in the operator's time zone.
pub async fn submit(
    db: &Db,
    account_id: &str,
    spec: &AdjustmentSpec,
    key: &str,
    by: Operator<'_>,
    thresholds: &Thresholds,
    at: DateTime<Utc>,
) -> Result<AdjustmentOutcome, AdjustmentError> {
    let dates = LocalTime::of(by.user);
    let txn = db.write().await?;
    let account = lock(&txn, account_id).await?;
    if let Some(first) = adjustment::Entity::find()
        .filter(adjustment::Column::AccountId.eq(account_id))
        .filter(adjustment::Column::IdempotencyKey.eq(key))
        .one(&*txn)
        .await?
    {
        let balances = ledger::balances(&*txn, account_id, account.currency).await?;
        drop(txn);
        let adjustment = views(db.conn(), vec![first], Some(by.user.id), false, dates)
            .await?
            .pop()
            .ok_or(AdjustmentError::NotFound)?;
        return Ok(AdjustmentOutcome {
            adjustment,
            balances,
            replayed: true,
        });
    }
    if spec.amount.currency() != account.currency {
        return Err(AdjustmentError::CurrencyMismatch {
            given: spec.amount.currency(),
            account: account.currency,
        });
    }
    let pending = thresholds.needs_approval(spec.amount);
    if pending && spec.amount.is_negative() {
        // Asked for now, checked again when approved.
        let held = ledger::balances(&*txn, account_id, account.currency).await?;
        check_debit(spec.bucket, spec.amount, &held)?;
    }
    let status = if pending {
        AdjustmentStatus::Pending
    } else {
        AdjustmentStatus::Applied
    };
    let row = adjustment::ActiveModel {
        account_id: Set(account_id.to_owned()),
        bucket: Set(spec.bucket.as_str().to_owned()),
        amount_minor: Set(spec.amount.to_minor().unwrap_or(0)),
        reason_code: Set(spec.reason.as_str().to_owned()),
        comment: Set(spec.comment.clone()),
        description: Set(spec.description.clone()),
        idempotency_key: Set(key.to_owned()),
        status: Set(status.as_str().to_owned()),
        requested_by: Set(by.user.id),
        requested_at: Set(at),
        expires_at: Set(pending.then(|| at + Duration::days(APPROVAL_WINDOW_DAYS))),
        decided_at: Set((!pending).then_some(at)),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    let mut after = json!({
        "bucket": row.bucket,
        "amount": spec.amount.to_plain_string(),
        "currency": account.currency.code(),
        "reason": row.reason_code,
        "description": row.description,
        "status": row.status,
    });
    let balances = if pending {
        ledger::balances(&*txn, account_id, account.currency).await?
    } else {
        let (rows, balances) = apply(&txn, &account, &row, at).await?;
        after["ledger_rows"] = json!(rows);
        balances
    };
    audit::append(
        &txn,
        &Entry {
            actor: &by.actor(),
            action: if pending {
                "adjustment.requested"
            } else {
                "adjustment.applied"
            },
            account_id: Some(account_id),
            subject: format!("adjustment:{}", row.id),
            before: json!({}),
            after,
            reason: &format!("{}: {}", reason_label(&row), row.comment),
        },
        at,
    )
    .await?;
    txn.commit().await?;
    let adjustment = views(db.conn(), vec![row], Some(by.user.id), false, dates)
        .await?
        .pop()
        .ok_or(AdjustmentError::NotFound)?;
    Ok(AdjustmentOutcome {
        adjustment,
        balances,
        replayed: false,
    })
}

/// Approves, rejects or withdraws a pending request. Approving applies it. Approving or
/// rejecting one's own request is refused; withdrawing someone else's too.
pub async fn decide(
    db: &Db,
    id: i64,
    decision: Decision,
    note: &str,
    by: Operator<'_>,
    at: DateTime<Utc>,
) -> Result<adjustment::Model, AdjustmentError> {
    let account_id = adjustment::Entity::find_by_id(id)
        .one(db.conn())
        .await?
        .ok_or(AdjustmentError::NotFound)?
        .account_id;
    let txn = db.write().await?;
    let account = lock(&txn, &account_id).await?;
    // Read again under the lock: another decision may have come first.
    let row = adjustment::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(AdjustmentError::NotFound)?;
    let status = AdjustmentStatus::parse(&row.status).unwrap_or(AdjustmentStatus::Expired);
    if status != AdjustmentStatus::Pending {
        return Err(AdjustmentError::AlreadyDecided(status));
    }
    let own = row.requested_by == by.user.id;
    match decision {
        Decision::Approve | Decision::Reject if own => return Err(AdjustmentError::OwnRequest),
        Decision::Withdraw if !own => return Err(AdjustmentError::NotYours),
        _ => {}
    }
    if let Some(expires) = row.expires_at.filter(|e| *e <= at) {
        // Too late to decide; the expiry job would have said so. Record it now.
        expire_locked(&txn, &row, at).await?;
        txn.commit().await?;
        return Err(AdjustmentError::Expired(
            LocalTime::of(by.user).date_minute(expires),
        ));
    }
    let to = match decision {
        Decision::Approve => AdjustmentStatus::Applied,
        Decision::Reject => AdjustmentStatus::Rejected,
        Decision::Withdraw => AdjustmentStatus::Withdrawn,
    };
    let mut after = json!({ "status": to.as_str() });
    if to == AdjustmentStatus::Applied {
        let (rows, _) = apply(&txn, &account, &row, at).await?;
        after["ledger_rows"] = json!(rows);
    }
    let mut decided: adjustment::ActiveModel = row.clone().into();
    decided.status = Set(to.as_str().to_owned());
    decided.decided_by = Set(Some(by.user.id));
    decided.decided_at = Set(Some(at));
    decided.decision_note = Set(note.trim().chars().take(300).collect());
    let decided = decided.update(&*txn).await?;
    audit::append(
        &txn,
        &Entry {
            actor: &by.actor(),
            action: match to {
                AdjustmentStatus::Applied => "adjustment.approved",
                AdjustmentStatus::Rejected => "adjustment.rejected",
                _ => "adjustment.withdrawn",
            },
            account_id: Some(&row.account_id),
            subject: format!("adjustment:{}", row.id),
            before: json!({ "status": row.status }),
            after,
            reason: note.trim(),
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(decided)
}

/// Expires every pending request whose window has passed, each in its own transaction.
/// Returns how many expired.
pub async fn expire_due(db: &Db, at: DateTime<Utc>) -> Result<usize, AdjustmentError> {
    let due = adjustment::Entity::find()
        .filter(adjustment::Column::Status.eq(AdjustmentStatus::Pending.as_str()))
        .filter(adjustment::Column::ExpiresAt.lte(at))
        .all(db.conn())
        .await?;
    let mut expired = 0;
    for row in due {
        let txn = db.write().await?;
        lock(&txn, &row.account_id).await?;
        if expire_locked(&txn, &row, at).await? {
            expired += 1;
        }
        txn.commit().await?;
    }
    Ok(expired)
}

/// Marks a pending request expired (once) and logs it. False if it was decided first.
async fn expire_locked(
    txn: &DatabaseTransaction,
    row: &adjustment::Model,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let moved = adjustment::Entity::update_many()
        .col_expr(
            adjustment::Column::Status,
            Expr::value(AdjustmentStatus::Expired.as_str()),
        )
        .col_expr(adjustment::Column::DecidedAt, Expr::value(at))
        .filter(adjustment::Column::Id.eq(row.id))
        .filter(adjustment::Column::Status.eq(AdjustmentStatus::Pending.as_str()))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Ok(false);
    }
    audit::append(
        txn,
        &Entry {
            actor: &Actor::System,
            action: "adjustment.expired",
            account_id: Some(&row.account_id),
            subject: format!("adjustment:{}", row.id),
            before: json!({ "status": "pending" }),
            after: json!({ "status": "expired" }),
            reason: &format!("no decision within {APPROVAL_WINDOW_DAYS} days"),
        },
        at,
    )
    .await?;
    Ok(true)
}

async fn lock(
    txn: &DatabaseTransaction,
    account_id: &str,
) -> Result<LockedAccount, AdjustmentError> {
    match ledger::lock_account(txn, account_id).await {
        Ok(account) => Ok(account),
        Err(LedgerError::AccountNotFound(_)) => Err(AdjustmentError::NoSuchAccount),
        Err(e) => Err(e.into()),
    }
}

fn check_debit(bucket: Bucket, amount: Money, held: &Balances) -> Result<(), AdjustmentError> {
    let available = match bucket {
        Bucket::TopUp => held.top_up,
        Bucket::Voucher => held.voucher,
    };
    let asked = amount.negated();
    if asked.to_minor().unwrap_or(i64::MAX) > available.to_minor().unwrap_or(0) {
        return Err(AdjustmentError::WouldGoNegative {
            bucket: bucket_words(bucket),
            asked,
            available,
        });
    }
    Ok(())
}

fn bucket_words(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::TopUp => "top-up credits",
        Bucket::Voucher => "voucher credits",
    }
}

/// Writes the adjustment's ledger rows; returns their ids and the balances after.
async fn apply(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    row: &adjustment::Model,
    at: DateTime<Utc>,
) -> Result<(Vec<i64>, Balances), AdjustmentError> {
    let bucket = Bucket::parse(&row.bucket).ok_or(LedgerError::Refused("unknown bucket"))?;
    let amount = Money::from_minor(row.amount_minor, account.currency);
    let key = format!("adjustment:{}", row.id);
    match ledger::adjust_locked(txn, account, bucket, amount, &row.description, &key, at).await? {
        Spent::Done { rows, balances } => Ok((rows.iter().map(|r| r.id).collect(), balances)),
        Spent::Short { balances } => {
            check_debit(bucket, amount, &balances)?;
            Err(LedgerError::Refused("the debit did not fit the balance").into())
        }
    }
}

fn reason_label(row: &adjustment::Model) -> &'static str {
    ReasonCode::parse(&row.reason_code).map_or("Other", ReasonCode::label)
}

/// An account's adjustments, newest first.
pub async fn for_account<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> Result<Vec<adjustment::Model>, DbErr> {
    adjustment::Entity::find()
        .filter(adjustment::Column::AccountId.eq(account_id))
        .order_by_desc(adjustment::Column::Id)
        .all(conn)
        .await
}

/// Every request still waiting for a decision, oldest first (the approvers' queue).
pub async fn pending<C: ConnectionTrait>(
    conn: &C,
    at: DateTime<Utc>,
) -> Result<Vec<adjustment::Model>, DbErr> {
    adjustment::Entity::find()
        .filter(adjustment::Column::Status.eq(AdjustmentStatus::Pending.as_str()))
        .filter(adjustment::Column::ExpiresAt.gt(at))
        .order_by_asc(adjustment::Column::Id)
        .all(conn)
        .await
}

/// Adjustments as the console shows them to the operator `viewer`: who asked and
/// decided by email, and whether the viewer may decide (`may_approve`: they hold the
/// approval capability) or withdraw.
pub async fn views<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<adjustment::Model>,
    viewer: Option<i64>,
    may_approve: bool,
    dates: LocalTime,
) -> Result<Vec<AdjustmentView>, DbErr> {
    let people: Vec<i64> = rows
        .iter()
        .flat_map(|r| [Some(r.requested_by), r.decided_by])
        .flatten()
        .collect();
    let emails = super::auth::emails(conn, people).await?;
    let mut accounts: Vec<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let owners = super::account::owners(conn, &accounts).await?;
    let email = |id: i64| {
        emails
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"))
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let status = AdjustmentStatus::parse(&r.status).unwrap_or(AdjustmentStatus::Expired);
            let (account_email, currency) = owners
                .get(&r.account_id)
                .cloned()
                .unwrap_or_else(|| (String::new(), Currency::Usd));
            let open = status == AdjustmentStatus::Pending;
            let own = viewer == Some(r.requested_by);
            AdjustmentView {
                id: r.id,
                account_email,
                bucket: Bucket::parse(&r.bucket).unwrap_or(Bucket::TopUp),
                amount: Money::from_minor(r.amount_minor, currency),
                reason: ReasonCode::parse(&r.reason_code).unwrap_or(ReasonCode::Other),
                status,
                requested_by: email(r.requested_by),
                requested_at: dates.date_minute(r.requested_at),
                expires_at: r.expires_at.filter(|_| open).map(|e| dates.date_minute(e)),
                decided_by: r.decided_by.map(email),
                decided_at: r.decided_at.map(|d| dates.date_minute(d)),
                can_decide: open && !own && may_approve,
                can_withdraw: open && own,
                account_id: r.account_id,
                comment: r.comment,
                description: r.description,
                decision_note: r.decision_note,
            }
        })
        .collect())
}
