//! Reversals of charged-back top-ups.
//!
//! A gateway's dispute or reversal event (or an operator) opens a request on a credited
//! top-up; once a second operator approves it, it takes back what is left of that
//! top-up's credits and records the rest — what was already spent — as owed by the
//! account. Whatever is owed is settled first from the next top-up credited, so no
//! balance ever goes below zero and the ledger still equals the balances. A won dispute
//! (funds reinstated) gives back everything the reversal took or settled and forgives
//! what is still owed.
//!
//! Rules kept here:
//! - a top-up is reversed at most once (`reversals.payment_id` is unique);
//! - what is left of a top-up: top-up credits are spent first in, first out, so it is
//!   the top-up balance less every top-up credit that came after it, between zero and
//!   its amount;
//! - the operator who opened a reversal cannot approve it; each decision happens once,
//!   under the account's lock, from `pending`.

use super::audit::{self, Actor, Entry};
use super::db::Db;
use super::entities::{dispute, payment, reversal, transaction, user};
use super::ledger::{self, LedgerError, LockedAccount};
use super::narrative::Narrative;
use crate::model::ledger::{Bucket, Status};
use crate::model::money::Money;
use crate::model::operator::{ReversalStatus, ReversalView};
use crate::model::top_up::Gateway;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use serde_json::json;
use std::collections::HashMap;

/// Why a reversal did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ReversalError {
    #[error("there is no payment with reference {0}")]
    NoSuchPayment(String),
    #[error("payment {0} was never credited, so there is nothing to take back")]
    NotCredited(String),
    #[error("there is no such reversal")]
    NotFound,
    #[error("you opened this reversal, so another operator has to decide on it")]
    OwnRequest,
    #[error("this reversal is already {}", .0.label().to_lowercase())]
    AlreadyDecided(ReversalStatus),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What a gateway said about a payment's dispute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisputeEvent {
    /// A dispute was opened (Stripe `charge.dispute.created`, PayPal
    /// `CUSTOMER.DISPUTE.CREATED`).
    Opened,
    /// The payment was reversed outright (PayPal `PAYMENT.CAPTURE.REVERSED`).
    Reversed,
    /// Closed in our favour: the funds are reinstated (Stripe `charge.dispute.closed`
    /// with status `won`).
    Won,
    /// Closed against us (status `lost`): the reversal stands.
    Lost,
}

impl DisputeEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            DisputeEvent::Opened => "opened",
            DisputeEvent::Reversed => "reversed",
            DisputeEvent::Won => "won",
            DisputeEvent::Lost => "lost",
        }
    }
}

/// A verified dispute notice from a gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispute {
    pub gateway: Gateway,
    /// Our payment reference.
    pub reference: String,
    /// The gateway's id for the dispute (or the reversed capture).
    pub dispute_id: String,
    pub event: DisputeEvent,
    /// The gateway's reason or status, as it said it.
    pub detail: String,
}

/// Records a gateway's dispute event and acts on it: an opened dispute or a reversal
/// opens a reversal request (once per payment); a won dispute reinstates; a lost one
/// leaves the reversal as it stands.
pub async fn dispute(db: &Db, notice: &Dispute, at: DateTime<Utc>) -> Result<(), ReversalError> {
    let found = payment_by_reference(db.conn(), &notice.reference).await?;
    dispute::ActiveModel {
        payment_id: Set(found.id),
        gateway: Set(notice.gateway.as_str().to_owned()),
        gateway_dispute_id: Set(notice.dispute_id.chars().take(100).collect()),
        event: Set(notice.event.as_str().to_owned()),
        detail: Set(notice.detail.chars().take(200).collect()),
        amount_minor: Set(found.amount_minor),
        received_at: Set(at),
        ..Default::default()
    }
    .insert(db.conn())
    .await?;
    let reason = format!(
        "{} {} {}: {}",
        notice.gateway.label(),
        notice.dispute_id,
        notice.event.as_str(),
        notice.detail
    );
    match notice.event {
        DisputeEvent::Opened | DisputeEvent::Reversed => {
            open(db, &notice.reference, &reason, &Actor::System, None, at).await?;
        }
        DisputeEvent::Won => {
            reinstate(db, &notice.reference, &reason, at).await?;
        }
        DisputeEvent::Lost => {}
    }
    Ok(())
}

async fn payment_by_reference<C: ConnectionTrait>(
    conn: &C,
    reference: &str,
) -> Result<payment::Model, ReversalError> {
    payment::Entity::find()
        .filter(payment::Column::Reference.eq(reference))
        .one(conn)
        .await?
        .ok_or_else(|| ReversalError::NoSuchPayment(reference.to_owned()))
}

/// Opens a reversal request on the credited top-up `reference`. A second request for
/// the same payment returns the first.
pub async fn open(
    db: &Db,
    reference: &str,
    reason: &str,
    actor: &Actor,
    requested_by: Option<i64>,
    at: DateTime<Utc>,
) -> Result<reversal::Model, ReversalError> {
    let found = payment_by_reference(db.conn(), reference).await?;
    if found.state != super::payment::State::Succeeded.as_str() {
        return Err(ReversalError::NotCredited(reference.to_owned()));
    }
    let txn = db.write().await?;
    ledger::lock_account(&txn, &found.account_id).await?;
    if let Some(first) = reversal::Entity::find()
        .filter(reversal::Column::PaymentId.eq(found.id))
        .one(&*txn)
        .await?
    {
        return Ok(first);
    }
    let inserted = reversal::ActiveModel {
        payment_id: Set(found.id),
        account_id: Set(found.account_id.clone()),
        amount_minor: Set(found.amount_minor),
        reason: Set(reason.to_owned()),
        source: Set(if requested_by.is_some() {
            "operator"
        } else {
            "gateway"
        }
        .to_owned()),
        requested_by: Set(requested_by),
        requested_at: Set(at),
        status: Set(ReversalStatus::Pending.as_str().to_owned()),
        taken_minor: Set(0),
        owed_minor: Set(0),
        owed_left_minor: Set(0),
        ..Default::default()
    }
    .insert(&*txn)
    .await;
    let row = match inserted {
        Ok(row) => row,
        // The unique payment id: another request won the race (the lock makes this rare).
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            drop(txn);
            return reversal::Entity::find()
                .filter(reversal::Column::PaymentId.eq(found.id))
                .one(db.conn())
                .await?
                .ok_or(ReversalError::NotFound);
        }
        Err(e) => return Err(e.into()),
    };
    audit::append(
        &txn,
        &Entry {
            actor,
            action: "reversal.requested",
            account_id: Some(&found.account_id),
            subject: format!("payment:{reference}"),
            before: json!({}),
            after: json!({ "reversal": row.id, "amount_minor": found.amount_minor }),
            reason,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Approves a pending reversal: takes back what is left of the top-up's credits and
/// records the rest as owed.
pub async fn approve(
    db: &Db,
    id: i64,
    approver: &user::Model,
    at: DateTime<Utc>,
) -> Result<reversal::Model, ReversalError> {
    let (txn, account, row) = pending_locked(db, id, approver).await?;
    let top_up = top_up_row(&txn, row.payment_id).await?;
    let balances = ledger::balances(&*txn, &account.id, account.currency).await?;
    let balance = balances.top_up.to_minor().unwrap_or(0);
    let take = left_of(&txn, &account.id, &top_up, balance).await?;
    let owed = row.amount_minor - take;
    let reference = top_up.payment_reference.clone().unwrap_or_default();
    let mut rows = Vec::new();
    if take > 0 {
        let narrative = Narrative::ChargeBack {
            reference: reference.clone(),
        };
        rows.push(
            ledger::reversal_locked(&txn, &account, -take, &top_up, &narrative, at)
                .await?
                .id,
        );
    }
    let mut decided: reversal::ActiveModel = row.clone().into();
    decided.status = Set(ReversalStatus::Applied.as_str().to_owned());
    decided.taken_minor = Set(take);
    decided.owed_minor = Set(owed);
    decided.owed_left_minor = Set(owed);
    decided.decided_by = Set(Some(approver.id));
    decided.decided_at = Set(Some(at));
    let decided = decided.update(&*txn).await?;
    audit::append(
        &txn,
        &Entry {
            actor: &Actor::user(approver),
            action: "reversal.applied",
            account_id: Some(&account.id),
            subject: format!("payment:{reference}"),
            before: json!({ "status": "pending", "top_up_balance_minor": balance }),
            after: json!({
                "status": "applied",
                "taken_minor": take,
                "owed_minor": owed,
                "ledger_rows": rows,
            }),
            reason: &row.reason,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(decided)
}

/// Rejects a pending reversal (the charge-back was a mistake, say): nothing moves.
pub async fn reject(
    db: &Db,
    id: i64,
    approver: &user::Model,
    note: &str,
    at: DateTime<Utc>,
) -> Result<reversal::Model, ReversalError> {
    let (txn, account, row) = pending_locked(db, id, approver).await?;
    let mut decided: reversal::ActiveModel = row.clone().into();
    decided.status = Set(ReversalStatus::Rejected.as_str().to_owned());
    decided.decided_by = Set(Some(approver.id));
    decided.decided_at = Set(Some(at));
    let decided = decided.update(&*txn).await?;
    audit::append(
        &txn,
        &Entry {
            actor: &Actor::user(approver),
            action: "reversal.rejected",
            account_id: Some(&account.id),
            subject: format!("reversal:{}", row.id),
            before: json!({ "status": "pending" }),
            after: json!({ "status": "rejected" }),
            reason: note,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(decided)
}

/// The pending reversal `id` under its account's lock, if `approver` may decide it.
async fn pending_locked(
    db: &Db,
    id: i64,
    approver: &user::Model,
) -> Result<(super::db::WriteTxn, LockedAccount, reversal::Model), ReversalError> {
    let account_id = reversal::Entity::find_by_id(id)
        .one(db.conn())
        .await?
        .ok_or(ReversalError::NotFound)?
        .account_id;
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, &account_id).await?;
    let row = reversal::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or(ReversalError::NotFound)?;
    let status = ReversalStatus::parse(&row.status).unwrap_or(ReversalStatus::Rejected);
    if status != ReversalStatus::Pending {
        return Err(ReversalError::AlreadyDecided(status));
    }
    if row.requested_by == Some(approver.id) {
        return Err(ReversalError::OwnRequest);
    }
    Ok((txn, account, row))
}

/// The top-up's ledger row (its credit), found through its payment.
async fn top_up_row(
    txn: &DatabaseTransaction,
    payment_id: i64,
) -> Result<transaction::Model, ReversalError> {
    let paid = payment::Entity::find_by_id(payment_id)
        .one(txn)
        .await?
        .ok_or(ReversalError::NotFound)?;
    let row_id = paid
        .ledger_transaction_id
        .ok_or_else(|| ReversalError::NotCredited(paid.reference.clone()))?;
    transaction::Entity::find_by_id(row_id)
        .one(txn)
        .await?
        .filter(|r| r.status == Status::Success.as_str())
        .ok_or(ReversalError::NotCredited(paid.reference))
}

/// What is left of a top-up's credits: spent first in, first out, so the top-up
/// balance less every top-up credit recorded after it, between zero and its amount.
async fn left_of(
    txn: &DatabaseTransaction,
    account_id: &str,
    top_up: &transaction::Model,
    balance: i64,
) -> Result<i64, DbErr> {
    let later: i64 = transaction::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
            "later",
        )
        .filter(transaction::Column::AccountId.eq(account_id))
        .filter(transaction::Column::Bucket.eq(Bucket::TopUp.as_str()))
        .filter(transaction::Column::Status.eq(Status::Success.as_str()))
        .filter(transaction::Column::AmountMinor.gt(0))
        .filter(transaction::Column::Id.gt(top_up.id))
        .into_tuple()
        .one(txn)
        .await?
        .unwrap_or(0);
    Ok((balance - later).clamp(0, top_up.amount_minor))
}

/// Settles what the locked account owes, oldest reversal first, from its top-up
/// credits: the ledger calls this right after a top-up is credited. Returns how much
/// was settled.
pub async fn settle_owed_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    at: DateTime<Utc>,
) -> Result<i64, LedgerError> {
    let owing = reversal::Entity::find()
        .filter(reversal::Column::AccountId.eq(account.id.as_str()))
        .filter(reversal::Column::OwedLeftMinor.gt(0))
        .order_by_asc(reversal::Column::Id)
        .all(txn)
        .await?;
    if owing.is_empty() {
        return Ok(0);
    }
    let mut balance = ledger::balances(txn, &account.id, account.currency)
        .await?
        .top_up
        .to_minor()
        .unwrap_or(0);
    let mut settled = Vec::new();
    for row in owing {
        let pay = std::cmp::min(row.owed_left_minor, balance);
        if pay == 0 {
            break;
        }
        let top_up = top_up_row(txn, row.payment_id)
            .await
            .map_err(|_| LedgerError::Refused("a reversal's top-up row is missing"))?;
        let reference = top_up.payment_reference.clone().unwrap_or_default();
        let narrative = Narrative::ChargeBackSettled {
            reference: reference.clone(),
        };
        ledger::reversal_locked(txn, account, -pay, &top_up, &narrative, at).await?;
        reversal::Entity::update_many()
            .col_expr(
                reversal::Column::OwedLeftMinor,
                Expr::col(reversal::Column::OwedLeftMinor).sub(pay),
            )
            .filter(reversal::Column::Id.eq(row.id))
            .exec(txn)
            .await?;
        balance -= pay;
        settled.push(json!({ "reversal": row.id, "payment": reference, "settled_minor": pay }));
    }
    let total: i64 = settled
        .iter()
        .map(|s| s["settled_minor"].as_i64().unwrap_or(0))
        .sum();
    if total > 0 {
        audit::append(
            txn,
            &Entry {
                actor: &Actor::System,
                action: "reversal.owed_settled",
                account_id: Some(&account.id),
                subject: format!("account:{}", account.id),
                before: json!({}),
                after: json!({ "settled": settled }),
                reason: "a top-up was credited while the account owed for a charge-back",
            },
            at,
        )
        .await?;
    }
    Ok(total)
}

/// A won dispute: an applied reversal gives back what it took and what was settled
/// since, and forgives what is still owed; a pending one is rejected.
pub async fn reinstate(
    db: &Db,
    reference: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Option<reversal::Model>, ReversalError> {
    let found = payment_by_reference(db.conn(), reference).await?;
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, &found.account_id).await?;
    let Some(row) = reversal::Entity::find()
        .filter(reversal::Column::PaymentId.eq(found.id))
        .one(&*txn)
        .await?
    else {
        return Ok(None);
    };
    let status = ReversalStatus::parse(&row.status).unwrap_or(ReversalStatus::Rejected);
    let (to, restore) = match status {
        ReversalStatus::Applied => (
            ReversalStatus::Reinstated,
            row.taken_minor + row.owed_minor - row.owed_left_minor,
        ),
        ReversalStatus::Pending => (ReversalStatus::Rejected, 0),
        // Rejected or reinstated already: nothing to give back.
        _ => return Ok(Some(row)),
    };
    let mut rows = Vec::new();
    if restore > 0 {
        let top_up = top_up_row(&txn, row.payment_id).await?;
        let narrative = Narrative::DisputeWon {
            reference: reference.to_owned(),
        };
        rows.push(
            ledger::reversal_locked(&txn, &account, restore, &top_up, &narrative, at)
                .await?
                .id,
        );
    }
    let mut changed: reversal::ActiveModel = row.clone().into();
    changed.status = Set(to.as_str().to_owned());
    changed.owed_left_minor = Set(0);
    changed.reinstated_at = Set((to == ReversalStatus::Reinstated).then_some(at));
    if to == ReversalStatus::Rejected {
        changed.decided_at = Set(Some(at));
    }
    let changed = changed.update(&*txn).await?;
    audit::append(
        &txn,
        &Entry {
            actor: &Actor::System,
            action: "reversal.reinstated",
            account_id: Some(&account.id),
            subject: format!("payment:{reference}"),
            before: json!({ "status": row.status, "owed_left_minor": row.owed_left_minor }),
            after: json!({ "status": to.as_str(), "restored_minor": restore, "ledger_rows": rows }),
            reason,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(Some(changed))
}

/// What the account owes for charge-backs.
pub async fn owed<C: ConnectionTrait>(conn: &C, account_id: &str) -> Result<i64, DbErr> {
    let total: Option<i64> = reversal::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(owed_left_minor), 0) AS BIGINT)"),
            "owed",
        )
        .filter(reversal::Column::AccountId.eq(account_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(total.unwrap_or(0))
}

/// An account's reversals, newest first.
pub async fn for_account<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> Result<Vec<reversal::Model>, DbErr> {
    reversal::Entity::find()
        .filter(reversal::Column::AccountId.eq(account_id))
        .order_by_desc(reversal::Column::Id)
        .all(conn)
        .await
}

/// Every reversal waiting for approval, oldest first.
pub async fn pending<C: ConnectionTrait>(conn: &C) -> Result<Vec<reversal::Model>, DbErr> {
    reversal::Entity::find()
        .filter(reversal::Column::Status.eq(ReversalStatus::Pending.as_str()))
        .order_by_asc(reversal::Column::Id)
        .all(conn)
        .await
}

/// Reversals as the console shows them to `viewer` (`may_approve`: they hold the
/// approval capability; nobody decides a reversal they opened).
pub async fn views<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<reversal::Model>,
    viewer: &user::Model,
    may_approve: bool,
) -> Result<Vec<ReversalView>, DbErr> {
    let dates = super::settings::LocalTime::of(viewer);
    let people: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.requested_by, r.decided_by])
        .flatten()
        .collect();
    let emails = super::auth::emails(conn, people).await?;
    let payments: HashMap<i64, payment::Model> = payment::Entity::find()
        .filter(payment::Column::Id.is_in(rows.iter().map(|r| r.payment_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let accounts: Vec<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
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
            let (account_email, currency) = owners
                .get(&r.account_id)
                .cloned()
                .unwrap_or_else(|| (String::new(), crate::model::money::Currency::Usd));
            let paid = payments.get(&r.payment_id);
            let status = ReversalStatus::parse(&r.status).unwrap_or(ReversalStatus::Rejected);
            let m = |minor: i64| Money::from_minor(minor, currency);
            ReversalView {
                id: r.id,
                account_email,
                payment_reference: paid.map(|p| p.reference.clone()).unwrap_or_default(),
                amount: m(r.amount_minor),
                opened_by: match r.requested_by {
                    Some(id) => email(id),
                    None => paid
                        .and_then(|p| Gateway::parse(&p.gateway))
                        .map_or("the gateway".into(), |g| g.label().to_owned()),
                },
                requested_at: dates.date_minute(r.requested_at),
                status,
                taken: m(r.taken_minor),
                owed: m(r.owed_minor),
                owed_left: m(r.owed_left_minor),
                decided_by: r.decided_by.map(email),
                can_decide: status == ReversalStatus::Pending
                    && may_approve
                    && r.requested_by != Some(viewer.id),
                reason: r.reason,
                account_id: r.account_id,
            }
        })
        .collect())
}
