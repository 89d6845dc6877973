//! Payments: top-up attempts and their state machine.
//!
//! `pending → (capturing →) succeeded | failed | expired`, each move a compare-and-set
//! on the state, in the same database transaction as the ledger change it brings (the
//! Processed top-up row turning Success, with the credit, or Failed). So whatever the
//! number, order or timing of a gateway's callbacks, a payment credits at most once:
//! the first settling call wins and every later one changes nothing.
//!
//! Paid is paid: when the gateway verifiably says it took the money, the payment is
//! credited even if we had given up on it (expired it, or failed it because the gateway
//! could not be reached or the customer followed a cancel link): `expired → succeeded`
//! and `failed (closed by us) → succeeded`, by the same compare-and-set. Only a failure
//! the gateway itself reported is final.

use super::audit::{self, Actor, Entry};
use super::db::{Db, now};
use super::entities::{gateway_event, payment};
use super::gateways::failure::Failure;
use super::ledger::{self, LedgerError, TopUp};
use crate::model::ledger::{Balances, Status};
use crate::model::money::{Currency, Money};
use crate::model::top_up::{Gateway, gateway_for};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, SqlErr,
};
use serde_json::json;

/// A payment's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    /// Our capture call is in flight (PayPal): the expiry job asks the gateway rather
    /// than expiring it.
    Capturing,
    Succeeded,
    Failed,
    Expired,
}

impl State {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Capturing => "capturing",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Expired => "expired",
        }
    }

    /// Still waiting for the gateway.
    pub fn is_open(self) -> bool {
        matches!(self, State::Pending | State::Capturing)
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<State> {
        [
            State::Pending,
            State::Capturing,
            State::Succeeded,
            State::Failed,
            State::Expired,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// Why a payment could not be made or moved.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("{0} payments are paid through {1}, not {2}")]
    WrongGateway(Currency, &'static str, &'static str),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A Pay click.
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub account_id: String,
    pub amount: Money,
    pub gateway: Gateway,
    /// The browser's token for this click.
    pub client_token: String,
    /// The version of the non-refundable terms the customer ticked before Pay.
    pub consent_version: String,
}

/// The stored names of the states still waiting for the gateway ([`State::is_open`]).
fn open_states() -> [&'static str; 2] {
    [State::Pending.as_str(), State::Capturing.as_str()]
}

/// Who closed a payment that did not succeed.
pub const CLOSED_BY_GATEWAY: &str = "gateway";
/// We gave up on it; a verified paid callback still credits it.
pub const CLOSED_BY_US: &str = "us";

fn new_reference() -> String {
    // Crockford's base32 without look-alikes: readable over the phone, 50 bits of chance.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("TU-{tail}")
}

/// Creates a pending payment and its Processed ledger row, together. A second call with
/// the same client token returns the first payment instead of making another.
pub async fn create(
    db: &Db,
    new: &NewPayment,
    ttl: Duration,
) -> Result<payment::Model, PaymentError> {
    let txn = db.write().await?;
    let created = create_in(&txn, new, ttl, now()).await?;
    txn.commit().await?;
    Ok(created)
}

/// [`create`] inside the caller's transaction, at a given time (the demo data's past).
pub async fn create_in(
    txn: &DatabaseTransaction,
    new: &NewPayment,
    ttl: Duration,
    at: DateTime<Utc>,
) -> Result<payment::Model, PaymentError> {
    let account = ledger::lock_account(txn, &new.account_id).await?;
    if new.amount.currency() != account.currency {
        return Err(LedgerError::CurrencyMismatch {
            given: new.amount.currency(),
            account: account.currency,
        }
        .into());
    }
    let expected = gateway_for(account.currency);
    if new.gateway != expected {
        return Err(PaymentError::WrongGateway(
            account.currency,
            expected.label(),
            new.gateway.label(),
        ));
    }
    if let Some(existing) = payment::Entity::find()
        .filter(payment::Column::AccountId.eq(account.id.as_str()))
        .filter(payment::Column::ClientToken.eq(new.client_token.as_str()))
        .one(txn)
        .await?
    {
        return Ok(existing);
    }
    let reference = new_reference();
    let row = ledger::record_top_up_in(
        txn,
        &TopUp {
            account_id: account.id.clone(),
            amount: new.amount,
            gateway: new.gateway.label().to_owned(),
            reference: reference.clone(),
        },
        Status::Processed,
        at,
    )
    .await?;
    let created = payment::ActiveModel {
        reference: Set(reference),
        account_id: Set(account.id),
        gateway: Set(new.gateway.as_str().to_owned()),
        amount_minor: Set(new.amount.to_minor().unwrap_or(0)),
        currency: Set(account.currency.code().to_owned()),
        state: Set(State::Pending.as_str().to_owned()),
        client_token: Set(new.client_token.clone()),
        ledger_transaction_id: Set(Some(row.id)),
        created_at: Set(at),
        expires_at: Set(at + ttl),
        consent_version: Set(Some(new.consent_version.clone())),
        consented_at: Set(Some(at)),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(created)
}

/// What a gateway says became of a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Paid this amount; `gateway_ref` is the gateway's own id for it.
    Paid {
        amount: Money,
        gateway_ref: Option<String>,
    },
    /// The gateway says it failed (refused, cancelled there, its session expired):
    /// final.
    Failed { reason: Failure },
    /// We give up on it without the gateway's word (it could not be reached, the
    /// customer followed the cancel link): a later verified payment still credits.
    GaveUp { reason: Failure },
}

impl Outcome {
    fn is_paid(&self) -> bool {
        matches!(self, Outcome::Paid { .. })
    }
}

/// Whether `outcome` can still change a payment that stands in `state`, closed by
/// `closed_by`: open payments take any outcome; a payment we gave up on (expired, or
/// failed by us) takes a payment; succeeded and gateway-failed ones are final.
pub fn may_settle(state: State, closed_by: Option<&str>, outcome: &Outcome) -> bool {
    match state {
        State::Pending | State::Capturing => true,
        State::Expired => outcome.is_paid(),
        State::Failed => outcome.is_paid() && closed_by == Some(CLOSED_BY_US),
        State::Succeeded => false,
    }
}

/// What settling did.
#[derive(Clone, Debug, PartialEq)]
pub enum Settled {
    /// The payment succeeded now and its credit was added.
    Credited(Balances),
    /// The payment failed now; nothing was added.
    Failed,
    /// The payment had settled before (in this state); nothing changed.
    Already(State),
    /// No payment of this gateway has this reference.
    NotFound,
    /// The paid amount or currency differs from the payment's; nothing changed.
    AmountMismatch { expected: Money, given: Money },
}

impl Settled {
    /// A short name for the record of a gateway event.
    pub fn label(&self) -> &'static str {
        match self {
            Settled::Credited(_) => "credited",
            Settled::Failed => "failed",
            Settled::Already(State::Succeeded) => "already succeeded",
            Settled::Already(_) => "already failed",
            Settled::NotFound => "not found",
            Settled::AmountMismatch { .. } => "amount mismatch",
        }
    }
}

/// Settles the payment `reference` of `gateway` with what the gateway reported.
pub async fn settle(
    db: &Db,
    gateway: Gateway,
    reference: &str,
    outcome: &Outcome,
) -> Result<Settled, PaymentError> {
    let Some(found) = payment::Entity::find()
        .filter(payment::Column::Reference.eq(reference))
        .filter(payment::Column::Gateway.eq(gateway.as_str()))
        .one(db.conn())
        .await?
    else {
        return Ok(Settled::NotFound);
    };
    // A redelivery for a payment this outcome can no longer change needs no write
    // lock. (A payment settling meanwhile is caught by the compare-and-set below.)
    let state = State::parse(&found.state).unwrap_or(State::Failed);
    if !may_settle(state, found.closed_by.as_deref(), outcome) {
        return Ok(Settled::Already(state));
    }
    let txn = db.write().await?;
    let settled = settle_in(&txn, &found, outcome, now()).await?;
    txn.commit().await?;
    if matches!(settled, Settled::Credited(_)) {
        super::plan::retry_after_credit_logged(db, &found.account_id).await;
    }
    Ok(settled)
}

/// [`settle`] for a payment found before, inside the caller's transaction, at a given
/// time. The compare-and-set makes it safe however stale `found` is.
pub async fn settle_in(
    txn: &DatabaseTransaction,
    found: &payment::Model,
    outcome: &Outcome,
    at: DateTime<Utc>,
) -> Result<Settled, PaymentError> {
    let reference = found.reference.as_str();
    let account = ledger::lock_account(txn, &found.account_id).await?;
    let expected = Money::from_minor(found.amount_minor, account.currency);
    let (to, success) = match outcome {
        Outcome::Paid { amount, .. } if *amount != expected => {
            tracing::warn!(reference, %expected, given = %amount, "payment callback amount differs; refused");
            return Ok(Settled::AmountMismatch {
                expected,
                given: *amount,
            });
        }
        Outcome::Paid { .. } => (State::Succeeded, true),
        Outcome::Failed { .. } | Outcome::GaveUp { .. } => (State::Failed, false),
    };
    use payment::Column;
    let open = Column::State.is_in(open_states());
    // The compare-and-set: exactly the states `may_settle` lets this outcome change.
    let changeable = if success {
        Condition::any()
            .add(open)
            .add(Column::State.eq(State::Expired.as_str()))
            .add(
                Condition::all()
                    .add(Column::State.eq(State::Failed.as_str()))
                    .add(Column::ClosedBy.eq(CLOSED_BY_US)),
            )
    } else {
        Condition::all().add(open)
    };
    let mut update = payment::Entity::update_many()
        .col_expr(Column::State, Expr::value(to.as_str()))
        .col_expr(Column::SettledAt, Expr::value(at))
        .filter(Column::Id.eq(found.id))
        .filter(changeable);
    match outcome {
        Outcome::Paid {
            gateway_ref: Some(r),
            ..
        } => {
            update = update.col_expr(Column::GatewayRef, Expr::value(r.as_str()));
        }
        Outcome::Failed { reason } => {
            update = update
                .col_expr(Column::FailureReason, Expr::value(reason.to_string()))
                .col_expr(Column::Failure, Expr::value(reason.to_json()))
                .col_expr(Column::ClosedBy, Expr::value(CLOSED_BY_GATEWAY));
        }
        Outcome::GaveUp { reason } => {
            update = update
                .col_expr(Column::FailureReason, Expr::value(reason.to_string()))
                .col_expr(Column::Failure, Expr::value(reason.to_json()))
                .col_expr(Column::ClosedBy, Expr::value(CLOSED_BY_US));
        }
        Outcome::Paid { .. } => {}
    }
    if update.exec(txn).await?.rows_affected != 1 {
        // Settled before we took the lock; read what it became.
        let now_state = payment::Entity::find_by_id(found.id)
            .one(txn)
            .await?
            .and_then(|p| State::parse(&p.state))
            .unwrap_or(State::Failed);
        return Ok(Settled::Already(now_state));
    }
    let was = State::parse(&found.state).unwrap_or(State::Pending);
    if success && !was.is_open() {
        tracing::warn!(
            reference,
            was = was.as_str(),
            "paid after we had given up on it: credited now"
        );
    }
    let row = found
        .ledger_transaction_id
        .ok_or(LedgerError::Refused("the payment has no ledger row"))?;
    ledger::settle_top_up_in(txn, &account, row, success, at).await?;
    audit::append(
        txn,
        &Entry {
            actor: &Actor::System,
            action: if success {
                "top_up.credited"
            } else {
                "top_up.failed"
            },
            account_id: Some(&account.id),
            subject: format!("payment:{reference}"),
            before: json!({ "state": was.as_str() }),
            after: json!({
                "state": to.as_str(),
                "amount": expected.to_plain_string(),
                "currency": account.currency.code(),
                "gateway": found.gateway,
            }),
            reason: &match outcome {
                Outcome::Failed { reason } | Outcome::GaveUp { reason } => reason.to_string(),
                Outcome::Paid { .. } => "the gateway confirmed the payment".to_owned(),
            },
        },
        at,
    )
    .await?;
    let balances = ledger::balances(txn, &account.id, account.currency).await?;
    Ok(if success {
        Settled::Credited(balances)
    } else {
        Settled::Failed
    })
}

/// A stored state as the customer sees it: an expired payment is simply Failed.
pub fn customer_status(state: &str) -> crate::model::top_up::PaymentStatus {
    use crate::model::top_up::PaymentStatus;
    match State::parse(state) {
        Some(State::Succeeded) => PaymentStatus::Success,
        Some(State::Pending | State::Capturing) => PaymentStatus::Pending,
        _ => PaymentStatus::Failed,
    }
}

/// One of the account's payments by its reference; another account's is not found.
pub async fn of_account<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account_id: &str,
    reference: &str,
) -> Result<Option<payment::Model>, DbErr> {
    payment::Entity::find()
        .filter(payment::Column::AccountId.eq(account_id))
        .filter(payment::Column::Reference.eq(reference))
        .one(conn)
        .await
}

/// A page of the account's payments, newest first, keyset on (created_at, id).
pub async fn page<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
    dates: impl Into<super::settings::LocalTime>,
    cursor: Option<&crate::model::history::PageCursor>,
    size: u64,
) -> Result<crate::model::top_up::PaymentPage, super::history::HistoryError> {
    let dates = dates.into();
    use super::history::{self, Position, cursor_at, decode_cursor};
    use crate::model::top_up::{PaymentPage, PaymentRow};
    use payment::Column::{AccountId, CreatedAt, Id};
    use sea_orm::QuerySelect;
    let position = match cursor {
        None => Position::Start,
        Some(c) => decode_cursor(c)?,
    };
    let q = history::keyset(
        payment::Entity::find().filter(AccountId.eq(account_id)),
        CreatedAt,
        Id,
        position,
    );
    let mut found = q.limit(size + 1).all(conn).await?;
    let beyond = found.len() as u64 > size;
    found.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    if let Position::Before(..) = position {
        found.reverse();
    }
    let (has_newer, has_older) = match position {
        Position::Start => (false, beyond),
        Position::After(..) => (true, beyond),
        Position::Before(..) => (beyond, true),
    };
    let cursor_of = |p: &payment::Model| cursor_at(p.created_at, p.id);
    Ok(PaymentPage {
        next: has_older.then(|| found.last().map(cursor_of)).flatten(),
        previous: has_newer.then(|| found.first().map(cursor_of)).flatten(),
        rows: found
            .iter()
            .map(|p| PaymentRow {
                date: dates.date_time(p.created_at),
                amount: Money::from_minor(p.amount_minor, currency),
                method: Gateway::parse(&p.gateway).unwrap_or(Gateway::VnPay),
                status: customer_status(&p.state),
                reference: p.reference.clone(),
                gateway_reference: p.gateway_ref.clone(),
            })
            .collect(),
    })
}

/// Records that a gateway event was processed; `false` if it was seen before (so a
/// redelivered event is skipped).
pub async fn first_sighting(
    db: &Db,
    gateway: Gateway,
    event_id: &str,
    reference: Option<&str>,
    outcome: &str,
) -> Result<bool, DbErr> {
    let record = gateway_event::ActiveModel {
        gateway: Set(gateway.as_str().to_owned()),
        event_id: Set(event_id.to_owned()),
        payment_reference: Set(reference.map(str::to_owned)),
        outcome: Set(outcome.to_owned()),
        received_at: Set(now()),
        ..Default::default()
    };
    match gateway_event::Entity::insert(record).exec(db.conn()).await {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the gateway's event was recorded already.
pub async fn seen<C: sea_orm::ConnectionTrait>(
    conn: &C,
    gateway: Gateway,
    event_id: &str,
) -> Result<bool, DbErr> {
    use sea_orm::PaginatorTrait;
    Ok(gateway_event::Entity::find()
        .filter(gateway_event::Column::Gateway.eq(gateway.as_str()))
        .filter(gateway_event::Column::EventId.eq(event_id))
        .count(conn)
        .await?
        > 0)
}

/// Open payments whose time ran out, oldest first: the expiry job asks each one's
/// gateway before giving up on it (`gateways::close_due`).
pub async fn due<C: sea_orm::ConnectionTrait>(
    conn: &C,
    at: DateTime<Utc>,
) -> Result<Vec<payment::Model>, DbErr> {
    use sea_orm::QueryOrder;
    payment::Entity::find()
        .filter(payment::Column::State.is_in(open_states()))
        .filter(payment::Column::ExpiresAt.lte(at))
        .order_by_asc(payment::Column::ExpiresAt)
        .all(conn)
        .await
}

/// Gives up on an open payment: `expired`, closed by us, its ledger row Failed, in one
/// transaction. A compare-and-set, so safe with several server processes and never
/// after it settled. Returns whether it moved.
pub async fn expire(
    db: &Db,
    found: &payment::Model,
    at: DateTime<Utc>,
) -> Result<bool, PaymentError> {
    use payment::Column;
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, &found.account_id).await?;
    let moved = payment::Entity::update_many()
        .col_expr(Column::State, Expr::value(State::Expired.as_str()))
        .col_expr(Column::SettledAt, Expr::value(at))
        .col_expr(
            Column::FailureReason,
            Expr::value(Failure::TimedOut.to_string()),
        )
        .col_expr(Column::Failure, Expr::value(Failure::TimedOut.to_json()))
        .col_expr(Column::ClosedBy, Expr::value(CLOSED_BY_US))
        .filter(Column::Id.eq(found.id))
        .filter(Column::State.is_in(open_states()))
        .exec(&*txn)
        .await?;
    if moved.rows_affected == 1 {
        if let Some(row) = found.ledger_transaction_id {
            ledger::settle_top_up_in(&txn, &account, row, false, at).await?;
        }
        audit::append(
            &txn,
            &Entry {
                actor: &Actor::System,
                action: "top_up.expired",
                account_id: Some(&account.id),
                subject: format!("payment:{}", found.reference),
                before: json!({ "state": found.state }),
                after: json!({ "state": State::Expired.as_str() }),
                reason: &Failure::TimedOut.to_string(),
            },
            at,
        )
        .await?;
        txn.commit().await?;
    }
    Ok(moved.rows_affected == 1)
}

/// Marks a pending payment as having our capture call in flight; `false` if it is not
/// pending (settled, or another return is capturing it).
pub async fn begin_capture<C: sea_orm::ConnectionTrait>(conn: &C, id: i64) -> Result<bool, DbErr> {
    let moved = payment::Entity::update_many()
        .col_expr(
            payment::Column::State,
            Expr::value(State::Capturing.as_str()),
        )
        .filter(payment::Column::Id.eq(id))
        .filter(payment::Column::State.eq(State::Pending.as_str()))
        .exec(conn)
        .await?;
    Ok(moved.rows_affected == 1)
}

/// The capture call did not settle the payment (no answer, or one to wait on): back to
/// pending, so a callback, another return or the expiry job's query settles it.
pub async fn end_capture<C: sea_orm::ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    payment::Entity::update_many()
        .col_expr(payment::Column::State, Expr::value(State::Pending.as_str()))
        .filter(payment::Column::Id.eq(id))
        .filter(payment::Column::State.eq(State::Capturing.as_str()))
        .exec(conn)
        .await?;
    Ok(())
}
