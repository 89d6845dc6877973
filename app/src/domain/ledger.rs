//! The ledger: every credit movement is a row in `transactions`, written in the same
//! database transaction as the balance it changes.
//!
//! Rules kept here, and nowhere else:
//! - a balance never goes below zero (checked in the UPDATE and by a CHECK constraint);
//! - each bucket's balance equals the sum of its `Success` rows ([`audit`] proves it);
//! - charges (usage and plans, [`Batch`]) spend voucher credits first,
//!   soonest-expiring grant first, then top-up credits; one row per grant touched and
//!   one for the top-up part;
//! - a charge larger than the balance records one `Failed` row and deducts nothing;
//! - expired voucher credits leave through a recorded `Expiry` row, never silently;
//! - a top-up credited while the account owes for a charge-back pays that first
//!   (`reversal::settle_owed_locked`).
//!
//! Concurrency: every write starts with [`lock_account`], an UPDATE of the account row
//! (or, for a group of charges, [`lock_accounts`]: `SELECT … FOR UPDATE` in id order).
//! On PostgreSQL that row lock queues writers of one account (in any process); on
//! SQLite the transaction already holds the database's write lock (BEGIN IMMEDIATE).
//! Everything read after the lock is current, so the checks cannot race.

use super::audit;
use super::db::Db;
use super::entities::{account, balance, transaction, voucher_grant};
use super::narrative::{self, Narrative};
use crate::model::ledger::{Balances, Bucket, Kind, Service, Status};
use crate::model::money::{Currency, Money};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// No balance may exceed this many minor units (10^15: a quadrillion đồng), so sums can
/// never overflow a 64-bit column.
pub const MAX_BALANCE_MINOR: i64 = 1_000_000_000_000_000;

/// Why a ledger operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("account {0} not found")]
    AccountNotFound(String),
    #[error("the amount is in {given}, but the account holds {account}")]
    CurrencyMismatch { given: Currency, account: Currency },
    #[error("the balance would exceed its maximum")]
    BalanceLimit,
    #[error("ledger write refused: {0}")]
    Refused(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A locked account, as the ledger needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedAccount {
    pub id: String,
    pub currency: Currency,
    pub user_id: i64,
    /// When the account was opened: where its plan periods count from.
    pub opened_at: DateTime<Utc>,
}

/// What a metering service asks to charge.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub account_id: String,
    pub service: Service,
    pub resource: String,
    pub description: String,
    pub amount: Money,
    pub idempotency_key: Option<String>,
}

/// The result of a charge: made (rows, one per bucket part) or declined (one Failed row).
#[derive(Clone, Debug)]
pub enum ChargeOutcome {
    Charged {
        rows: Vec<transaction::Model>,
        balances: Balances,
    },
    Declined {
        row: Box<transaction::Model>,
        balances: Balances,
    },
}

/// Takes the account's write lock for the rest of `txn` and returns its currency.
pub async fn lock_account(
    txn: &DatabaseTransaction,
    account_id: &str,
) -> Result<LockedAccount, LedgerError> {
    // RETURNING saves a round-trip while the lock is held.
    let row = account::Entity::update_many()
        .col_expr(
            account::Column::LockVersion,
            Expr::col(account::Column::LockVersion).add(1),
        )
        .filter(account::Column::Id.eq(account_id))
        .exec_with_returning(txn)
        .await?
        .pop()
        .ok_or_else(|| LedgerError::AccountNotFound(account_id.to_owned()))?;
    LockedAccount::of(row)
}

impl LockedAccount {
    fn of(row: account::Model) -> Result<LockedAccount, LedgerError> {
        let currency = Currency::from_code(&row.currency)
            .ok_or(LedgerError::Refused("account has an unknown currency"))?;
        Ok(LockedAccount {
            id: row.id,
            currency,
            user_id: row.user_id,
            opened_at: row.created_at,
        })
    }
}

/// Locks several accounts for the rest of `txn`, in the database's id order (so two
/// transactions that lock overlapping sets cannot deadlock), and returns those that
/// exist, sorted by id as Rust compares strings (the database's collation may order
/// them otherwise). On PostgreSQL `SELECT … FOR UPDATE` takes the row locks
/// [`lock_account`] takes; on SQLite the transaction already holds the database's write
/// lock.
pub async fn lock_accounts(
    txn: &DatabaseTransaction,
    ids: &[&str],
) -> Result<Vec<LockedAccount>, LedgerError> {
    let rows = account::Entity::find()
        .filter(account::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(account::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?;
    let mut locked = rows
        .into_iter()
        .map(LockedAccount::of)
        .collect::<Result<Vec<_>, _>>()?;
    locked.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(locked)
}

/// Reads both balances of an account.
pub async fn balances<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
) -> Result<Balances, DbErr> {
    let rows = balance::Entity::find()
        .filter(balance::Column::AccountId.eq(account_id))
        .all(conn)
        .await?;
    let mut out = Balances::zero(currency);
    for row in rows {
        match Bucket::parse(&row.bucket) {
            Some(Bucket::TopUp) => out.top_up = Money::from_minor(row.amount_minor, currency),
            Some(Bucket::Voucher) => out.voucher = Money::from_minor(row.amount_minor, currency),
            None => {}
        }
    }
    Ok(out)
}

/// Charges usage to an account: with the other charges to the same account that are
/// waiting at the same moment, in one transaction (`group_commit`), applied in arrival
/// order. Answers once that transaction has committed.
pub async fn charge(db: &Db, request: &ChargeRequest) -> Result<ChargeOutcome, LedgerError> {
    db.charges().charge(db, request.clone()).await
}

/// Charges usage inside `txn`: voucher credits first (soonest-expiring grant first),
/// then top-up credits. If the balance is too low, records one Failed row and deducts
/// nothing. Locks the account.
pub async fn charge_in(
    txn: &DatabaseTransaction,
    request: &ChargeRequest,
    at: DateTime<Utc>,
) -> Result<ChargeOutcome, LedgerError> {
    let account = lock_account(txn, &request.account_id).await?;
    charge_many_locked(txn, &account, &[request], at)
        .await?
        .pop()
        .unwrap_or(Err(LedgerError::Refused("no charge was made")))
}

/// Charges each request to the locked account in order, as [`charge_in`] charges one:
/// a request that is refused (wrong currency, not a usage service, not a positive
/// amount) or declined (the balance is short by then) does not stop the ones after it.
/// Their rows are written together. The outer `Err` is a database failure: nothing of
/// the transaction may be committed then.
pub async fn charge_many_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    requests: &[&ChargeRequest],
    at: DateTime<Utc>,
) -> Result<Vec<Result<ChargeOutcome, LedgerError>>, LedgerError> {
    let accounts = std::slice::from_ref(account);
    let mut outcomes = charge_accounts_locked(txn, accounts, &[requests.to_vec()], at).await?;
    Ok(outcomes.pop().unwrap_or_default())
}

/// [`charge_many_locked`] for several locked accounts at once (`requests[i]` are
/// `accounts[i]`'s, in order): the balances read in one query, every row in one INSERT.
pub async fn charge_accounts_locked(
    txn: &DatabaseTransaction,
    accounts: &[LockedAccount],
    requests: &[Vec<&ChargeRequest>],
    at: DateTime<Utc>,
) -> Result<Vec<Vec<Result<ChargeOutcome, LedgerError>>>, LedgerError> {
    let mut batches = Batch::open_many(txn, accounts, at).await?;
    let planned: Vec<Vec<_>> = batches
        .iter_mut()
        .zip(requests)
        .map(|(batch, requests)| {
            requests
                .iter()
                .map(|request| plan_charge(batch, request))
                .collect()
        })
        .collect();
    let written = Batch::write_many(txn, batches).await?;
    Ok(planned
        .into_iter()
        .zip(written)
        .map(|(planned, written)| outcomes(planned, written))
        .collect())
}

/// Each planned charge's outcome, from the rows its batch wrote (refused charges wrote
/// none).
fn outcomes(
    planned: Vec<Result<bool, LedgerError>>,
    written: Vec<Written>,
) -> Vec<Result<ChargeOutcome, LedgerError>> {
    let mut written = written.into_iter();
    planned
        .into_iter()
        .map(|plan| {
            let (declined, Some(done)) = (plan?, written.next()) else {
                return Err(LedgerError::Refused("a charge's rows went missing"));
            };
            Ok(if declined {
                let row = done.rows.into_iter().next();
                let row = row.ok_or(LedgerError::Refused("a declined charge without its row"))?;
                ChargeOutcome::Declined {
                    row: Box::new(row),
                    balances: done.balances,
                }
            } else {
                ChargeOutcome::Charged {
                    rows: done.rows,
                    balances: done.balances,
                }
            })
        })
        .collect()
}

/// Adds one usage charge to `batch`; `Ok(true)` when it is declined (a Failed row).
fn plan_charge(batch: &mut Batch<'_>, request: &ChargeRequest) -> Result<bool, LedgerError> {
    if request.amount.currency() != batch.account.currency {
        return Err(LedgerError::CurrencyMismatch {
            given: request.amount.currency(),
            account: batch.account.currency,
        });
    }
    if !request.service.is_usage() {
        return Err(LedgerError::Refused(
            "only the marketplace's services charge usage",
        ));
    }
    let spend = Spend {
        kind: Kind::Charge,
        service: request.service,
        source: &request.resource,
        description: &request.description,
        narrative: None,
        amount: request.amount,
        idempotency_key: request.idempotency_key.as_deref(),
    };
    if batch.spend(&spend)? {
        Ok(false)
    } else {
        batch.decline(&spend)?;
        Ok(true)
    }
}

/// Credits leaving an account for something it used or bought: a usage charge or a
/// plan's charge.
#[derive(Clone, Debug)]
pub struct Spend<'a> {
    pub kind: Kind,
    pub service: Service,
    /// The Source column: a resource, or a plan's name.
    pub source: &'a str,
    /// The caller's words (a usage charge's), or `""` with a narrative of ours.
    pub description: &'a str,
    pub narrative: Option<&'a Narrative>,
    pub amount: Money,
    pub idempotency_key: Option<&'a str>,
}

impl Spend<'_> {
    fn row(
        &self,
        account: &LockedAccount,
        bucket: Bucket,
        status: Status,
        amount_minor: i64,
        at: DateTime<Utc>,
    ) -> transaction::ActiveModel {
        transaction::ActiveModel {
            account_id: Set(account.id.clone()),
            bucket: Set(bucket.as_str().to_owned()),
            kind: Set(self.kind.as_str().to_owned()),
            service: Set(Some(self.service.as_str().to_owned())),
            source: Set(self.source.to_owned()),
            description: Set(narrative::english(self.narrative, self.description)),
            narrative: Set(self.narrative.map(Narrative::to_json)),
            status: Set(status.as_str().to_owned()),
            amount_minor: Set(amount_minor),
            created_at: Set(at),
            idempotency_key: Set(self.idempotency_key.map(str::to_owned)),
            ..Default::default()
        }
    }
}

/// What a spend did: taken (one row per grant touched and one for the top-up part), or
/// not, because the balance is short (nothing written).
#[derive(Clone, Debug)]
pub enum Spent {
    Done {
        rows: Vec<transaction::Model>,
        balances: Balances,
    },
    Short {
        balances: Balances,
    },
}

/// Takes `spend.amount` from the locked account: voucher credits first (soonest-expiring
/// grant first, after expiring the grants that are due), then top-up credits.
pub async fn spend_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    spend: &Spend<'_>,
    at: DateTime<Utc>,
) -> Result<Spent, LedgerError> {
    let mut batch = Batch::open(txn, account, at).await?;
    if !batch.spend(spend)? {
        return Ok(Spent::Short {
            balances: batch.balances,
        });
    }
    let done = batch.write(txn).await?.pop();
    let done = done.ok_or(LedgerError::Refused("a spend's rows went missing"))?;
    Ok(Spent::Done {
        rows: done.rows,
        balances: done.balances,
    })
}

/// Spends made one after another under one lock, worked out in memory and written
/// together: a row per grant touched and one for the top-up part per spend, one update
/// per grant and per bucket for them all, the rows in one INSERT. The one place the
/// spending order lives (with [`spendable_grants`]): voucher credits first, then top-up.
/// Single charges and plan charges are batches of one; `group_commit` makes larger ones.
pub struct Batch<'a> {
    account: &'a LockedAccount,
    at: DateTime<Utc>,
    /// Spendable grants in spending order, with what this batch took from each.
    grants: Vec<(voucher_grant::Model, i64)>,
    /// As the database holds them now, and after every spend so far.
    before: Balances,
    balances: Balances,
    rows: Vec<transaction::ActiveModel>,
    /// Per spend (or decline), in order: how many of `rows` it added, and the balances
    /// after it.
    entries: Vec<(usize, Balances)>,
}

/// One spend's rows as written, and the balances just after it.
#[derive(Clone, Debug)]
pub struct Written {
    pub rows: Vec<transaction::Model>,
    pub balances: Balances,
}

/// Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound values.
const ROWS_PER_INSERT: usize = 500;

impl<'a> Batch<'a> {
    /// Reads the locked account's balances and spendable grants (expiring the due ones).
    pub async fn open(
        txn: &DatabaseTransaction,
        account: &'a LockedAccount,
        at: DateTime<Utc>,
    ) -> Result<Batch<'a>, LedgerError> {
        let mut batches = Batch::open_many(txn, std::slice::from_ref(account), at).await?;
        batches
            .pop()
            .ok_or(LedgerError::Refused("a batch went missing"))
    }

    /// A batch per locked account, in their order: every balance read in one query.
    pub async fn open_many(
        txn: &DatabaseTransaction,
        accounts: &'a [LockedAccount],
        at: DateTime<Utc>,
    ) -> Result<Vec<Batch<'a>>, LedgerError> {
        let all = balances_of(txn, accounts).await?;
        let mut batches = Vec::with_capacity(accounts.len());
        for (account, mut before) in accounts.iter().zip(all) {
            // The voucher balance is the sum of what the grants hold (`audit` proves
            // it): with none, no grant holds credit, so none can be spent or expire,
            // and the grants need not be read.
            let mut grants = Vec::new();
            if before.voucher.to_minor() != Some(0) {
                grants = spendable_grants(txn, account, at).await?;
                // Read again: expiring the due grants moved the voucher balance.
                before = balances(txn, &account.id, account.currency).await?;
            }
            batches.push(Batch {
                account,
                at,
                grants: grants.into_iter().map(|g| (g, 0)).collect(),
                before,
                balances: before,
                rows: Vec::new(),
                entries: Vec::new(),
            });
        }
        Ok(batches)
    }

    /// Takes `spend.amount`: voucher credits in the grants' order, then top-up credits.
    /// `Ok(false)` when the balance cannot cover it: nothing is taken.
    pub fn spend(&mut self, spend: &Spend<'_>) -> Result<bool, LedgerError> {
        let currency = self.account.currency;
        if spend.amount.currency() != currency {
            return Err(LedgerError::CurrencyMismatch {
                given: spend.amount.currency(),
                account: currency,
            });
        }
        let amount = spend
            .amount
            .to_minor()
            .filter(|m| *m > 0)
            .ok_or(LedgerError::Refused("a charge must be a positive amount"))?;
        let minor = |m: Money| m.to_minor().unwrap_or(0);
        if amount > minor(self.balances.total()) {
            return Ok(false);
        }
        let start = self.rows.len();
        let remaining = self
            .grants
            .iter()
            .map(|(g, taken)| g.remaining_minor - taken);
        let (parts, from_voucher) = take_in_order(remaining, amount);
        for (index, take) in parts {
            let (grant, taken) = &mut self.grants[index];
            *taken += take;
            let mut row = spend.row(
                self.account,
                Bucket::Voucher,
                Status::Success,
                -take,
                self.at,
            );
            row.voucher_code = Set(Some(grant.code.clone()));
            row.voucher_grant_id = Set(Some(grant.id));
            self.rows.push(row);
        }
        let left = amount - from_voucher;
        if left > 0 {
            let row = spend.row(self.account, Bucket::TopUp, Status::Success, -left, self.at);
            self.rows.push(row);
        }
        self.balances = Balances {
            top_up: Money::from_minor(minor(self.balances.top_up) - left, currency),
            voucher: Money::from_minor(minor(self.balances.voucher) - from_voucher, currency),
        };
        self.entries.push((self.rows.len() - start, self.balances));
        Ok(true)
    }

    /// Records a charge the balance could not cover: one Failed row under top-up credits
    /// (no voucher credit was touched), nothing taken.
    pub fn decline(&mut self, spend: &Spend<'_>) -> Result<(), LedgerError> {
        let amount = spend
            .amount
            .to_minor()
            .ok_or(LedgerError::Refused("a charge must be a positive amount"))?;
        let start = self.rows.len();
        let row = spend.row(
            self.account,
            Bucket::TopUp,
            Status::Failed,
            -amount,
            self.at,
        );
        self.rows.push(row);
        self.entries.push((self.rows.len() - start, self.balances));
        Ok(())
    }

    /// Writes what the spends took and their rows; returns each spend's rows, in order.
    pub async fn write(self, txn: &DatabaseTransaction) -> Result<Vec<Written>, LedgerError> {
        let mut written = Batch::write_many(txn, vec![self]).await?;
        written
            .pop()
            .ok_or(LedgerError::Refused("a batch went missing"))
    }

    /// Writes several accounts' batches: one update per grant touched, one per bucket
    /// for every account's balance, and every row in one INSERT. Per batch, in order:
    /// each spend's rows and balances.
    pub async fn write_many(
        txn: &DatabaseTransaction,
        batches: Vec<Batch<'_>>,
    ) -> Result<Vec<Vec<Written>>, LedgerError> {
        let minor = |m: Money| m.to_minor().unwrap_or(0);
        let (mut top_up, mut voucher) = (Vec::new(), Vec::new());
        for batch in &batches {
            for (grant, taken) in &batch.grants {
                if *taken == 0 {
                    continue;
                }
                let spent = voucher_grant::Entity::update_many()
                    .col_expr(
                        voucher_grant::Column::RemainingMinor,
                        Expr::col(voucher_grant::Column::RemainingMinor).sub(*taken),
                    )
                    .filter(voucher_grant::Column::Id.eq(grant.id))
                    .filter(voucher_grant::Column::RemainingMinor.gte(*taken))
                    .exec(txn)
                    .await?;
                if spent.rows_affected != 1 {
                    return Err(LedgerError::Refused("voucher grant changed under the lock"));
                }
            }
            let id = batch.account.id.as_str();
            voucher.push((
                id,
                minor(batch.balances.voucher) - minor(batch.before.voucher),
            ));
            top_up.push((
                id,
                minor(batch.balances.top_up) - minor(batch.before.top_up),
            ));
        }
        let at = batches.first().map(|b| b.at);
        if let Some(at) = at {
            move_balances(txn, Bucket::Voucher, &voucher, at).await?;
            move_balances(txn, Bucket::TopUp, &top_up, at).await?;
        }
        let mut entries = Vec::with_capacity(batches.len());
        let mut rows = Vec::new();
        for batch in batches {
            entries.push(batch.entries);
            rows.extend(batch.rows);
        }
        let mut written = Vec::with_capacity(rows.len());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
            let expected = chunk.len();
            let mut inserted = transaction::Entity::insert_many(chunk)
                .exec_with_returning(txn)
                .await?;
            if inserted.len() != expected {
                return Err(LedgerError::Refused("ledger rows were not all written"));
            }
            // Ids are given in the order of the VALUES; RETURNING's order is not promised.
            inserted.sort_by_key(|r| r.id);
            written.extend(inserted);
        }
        // Each entry's rows follow the last one's: hand them out in order, moved.
        let mut written = written.into_iter();
        Ok(entries
            .into_iter()
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|(count, balances)| Written {
                        rows: written.by_ref().take(count).collect(),
                        balances,
                    })
                    .collect()
            })
            .collect())
    }
}

/// How `amount` is taken from grants with these remainders, in their order: as much as
/// each holds until the amount is covered. Returns (grant's index, taken) per grant
/// touched, and the total taken (less than `amount` when the grants hold less).
fn take_in_order(remaining: impl Iterator<Item = i64>, amount: i64) -> (Vec<(usize, i64)>, i64) {
    let mut left = amount;
    let mut parts = Vec::new();
    for (index, held) in remaining.enumerate() {
        if left == 0 {
            break;
        }
        let take = std::cmp::min(left, held);
        if take > 0 {
            parts.push((index, take));
            left -= take;
        }
    }
    (parts, amount - left)
}

/// The account's grants with credit left, expired or not.
async fn live_grants(
    txn: &DatabaseTransaction,
    account_id: &str,
) -> Result<Vec<voucher_grant::Model>, DbErr> {
    voucher_grant::Entity::find()
        .filter(voucher_grant::Column::AccountId.eq(account_id))
        .filter(voucher_grant::Column::RemainingMinor.gt(0))
        .all(txn)
        .await
}

/// The account's grants that can still be spent at `at`, in spending order (soonest
/// expiry first, grants that never expire last, then oldest), after expiring those that
/// are due. The one place the order of voucher credits lives.
async fn spendable_grants(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    at: DateTime<Utc>,
) -> Result<Vec<voucher_grant::Model>, LedgerError> {
    let (due, mut spendable): (Vec<_>, Vec<_>) = live_grants(txn, &account.id)
        .await?
        .into_iter()
        .partition(|g| g.expires_at.is_some_and(|e| e <= at));
    expire_grants_in(txn, account, due, at).await?;
    // Sorted here because SQLite and PostgreSQL disagree on where NULLs sort.
    spendable.sort_by_key(|g| (g.expires_at.is_none(), g.expires_at, g.id));
    Ok(spendable)
}

/// Takes up to `amount` from `grants` in their order: each grant touched loses what is
/// taken and gets one row (`row(taken)`, with the grant's code and id added). Returns the
/// rows and how much was taken. The voucher balance is the caller's to move.
async fn take_from_grants(
    txn: &DatabaseTransaction,
    grants: Vec<voucher_grant::Model>,
    amount: i64,
    row: impl Fn(i64) -> transaction::ActiveModel,
) -> Result<(Vec<transaction::Model>, i64), LedgerError> {
    let (parts, taken) = take_in_order(grants.iter().map(|g| g.remaining_minor), amount);
    let mut rows = Vec::with_capacity(parts.len());
    for (index, take) in parts {
        let grant = &grants[index];
        let spent = voucher_grant::Entity::update_many()
            .col_expr(
                voucher_grant::Column::RemainingMinor,
                Expr::col(voucher_grant::Column::RemainingMinor).sub(take),
            )
            .filter(voucher_grant::Column::Id.eq(grant.id))
            .filter(voucher_grant::Column::RemainingMinor.gte(take))
            .exec(txn)
            .await?;
        if spent.rows_affected != 1 {
            return Err(LedgerError::Refused("voucher grant changed under the lock"));
        }
        let mut debit = row(take);
        debit.voucher_code = Set(Some(grant.code.clone()));
        debit.voucher_grant_id = Set(Some(grant.id));
        rows.push(debit.insert(txn).await?);
    }
    Ok((rows, taken))
}

/// Both balances of each account, in the accounts' order, in one query.
async fn balances_of<C: ConnectionTrait>(
    conn: &C,
    accounts: &[LockedAccount],
) -> Result<Vec<Balances>, DbErr> {
    let mut out: Vec<Balances> = accounts
        .iter()
        .map(|a| Balances::zero(a.currency))
        .collect();
    let rows = balance::Entity::find()
        .filter(balance::Column::AccountId.is_in(accounts.iter().map(|a| a.id.as_str())))
        .all(conn)
        .await?;
    for row in rows {
        let Some(i) = accounts.iter().position(|a| a.id == row.account_id) else {
            continue;
        };
        let currency = accounts[i].currency;
        match Bucket::parse(&row.bucket) {
            Some(Bucket::TopUp) => out[i].top_up = Money::from_minor(row.amount_minor, currency),
            Some(Bucket::Voucher) => out[i].voucher = Money::from_minor(row.amount_minor, currency),
            None => {}
        }
    }
    Ok(out)
}

/// Moves one bucket's balance of several accounts by their deltas (zeros skipped), in
/// one UPDATE: `amount + CASE account WHEN … END`, kept within 0 and the maximum. Either
/// every account's balance moves or the statement reports fewer rows and the
/// transaction must not commit.
async fn move_balances(
    txn: &DatabaseTransaction,
    bucket: Bucket,
    deltas: &[(&str, i64)],
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let moved: Vec<(&str, i64)> = deltas.iter().copied().filter(|(_, d)| *d != 0).collect();
    match moved.as_slice() {
        [] => Ok(()),
        [(id, delta)] => move_balance(txn, id, bucket, *delta, at).await,
        _ => {
            let delta = moved
                .iter()
                .fold(CaseStatement::new(), |case, (id, delta)| {
                    case.case(balance::Column::AccountId.eq(*id), *delta)
                })
                .finally(0);
            let after = Expr::col(balance::Column::AmountMinor).add(delta);
            let updated = balance::Entity::update_many()
                .col_expr(balance::Column::AmountMinor, after.clone())
                .col_expr(balance::Column::UpdatedAt, Expr::value(at))
                .filter(balance::Column::AccountId.is_in(moved.iter().map(|(id, _)| *id)))
                .filter(balance::Column::Bucket.eq(bucket.as_str()))
                .filter(after.clone().gte(0))
                .filter(after.lte(MAX_BALANCE_MINOR))
                .exec(txn)
                .await?;
            if usize::try_from(updated.rows_affected) == Ok(moved.len()) {
                Ok(())
            } else if moved.iter().all(|(_, d)| *d < 0) {
                Err(LedgerError::Refused("the balance would go below zero"))
            } else {
                Err(LedgerError::BalanceLimit)
            }
        }
    }
}

/// Adds `delta` (signed) to one bucket, refusing to go below zero or above the maximum.
async fn move_balance(
    txn: &DatabaseTransaction,
    account_id: &str,
    bucket: Bucket,
    delta: i64,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let mut update = balance::Entity::update_many()
        .col_expr(
            balance::Column::AmountMinor,
            Expr::col(balance::Column::AmountMinor).add(delta),
        )
        .col_expr(balance::Column::UpdatedAt, Expr::value(at))
        .filter(balance::Column::AccountId.eq(account_id))
        .filter(balance::Column::Bucket.eq(bucket.as_str()));
    update = if delta < 0 {
        update.filter(balance::Column::AmountMinor.gte(-delta))
    } else {
        update.filter(balance::Column::AmountMinor.lte(MAX_BALANCE_MINOR - delta))
    };
    match update.exec(txn).await?.rows_affected {
        1 => Ok(()),
        _ if delta < 0 => Err(LedgerError::Refused("the balance would go below zero")),
        _ => Err(LedgerError::BalanceLimit),
    }
}

/// A top-up as the ledger records it.
#[derive(Clone, Debug)]
pub struct TopUp {
    pub account_id: String,
    pub amount: Money,
    /// The payment gateway's name, shown as the Source: `VNPay`, `Stripe`, `PayPal`.
    pub gateway: String,
    pub reference: String,
}

/// Records a top-up row; only a `Success` one adds to the top-up balance.
pub async fn record_top_up_in(
    txn: &DatabaseTransaction,
    top_up: &TopUp,
    status: Status,
    at: DateTime<Utc>,
) -> Result<transaction::Model, LedgerError> {
    let account = lock_account(txn, &top_up.account_id).await?;
    if top_up.amount.currency() != account.currency {
        return Err(LedgerError::CurrencyMismatch {
            given: top_up.amount.currency(),
            account: account.currency,
        });
    }
    let amount = top_up
        .amount
        .to_minor()
        .filter(|m| *m > 0)
        .ok_or(LedgerError::Refused("a top-up must be a positive amount"))?;
    if status == Status::Success {
        move_balance(txn, &account.id, Bucket::TopUp, amount, at).await?;
    }
    let credited = status == Status::Success;
    let narrative = Narrative::TopUp {
        reference: top_up.reference.clone(),
    };
    let row = transaction::ActiveModel {
        account_id: Set(account.id.clone()),
        bucket: Set(Bucket::TopUp.as_str().to_owned()),
        kind: Set(Kind::TopUp.as_str().to_owned()),
        service: Set(Some(Service::PaymentGateway.as_str().to_owned())),
        source: Set(top_up.gateway.clone()),
        description: Set(narrative.english("")),
        narrative: Set(Some(narrative.to_json())),
        status: Set(status.as_str().to_owned()),
        amount_minor: Set(amount),
        created_at: Set(at),
        payment_reference: Set(Some(top_up.reference.clone())),
        ..Default::default()
    };
    let row = row.insert(txn).await?;
    if credited {
        // What the account owes for a charge-back is paid first from new credit.
        super::reversal::settle_owed_locked(txn, &account, at).await?;
    }
    Ok(row)
}

/// Settles a Processed top-up row of the (locked) account: Success adds its amount to
/// the top-up balance; Failed adds nothing. A compare-and-set on the row's status, so a
/// row settles once. The only change to a ledger row after it is written (Credit
/// History's `PastLimit` relies on that).
pub async fn settle_top_up_in(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    row_id: i64,
    success: bool,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let row = transaction::Entity::find_by_id(row_id)
        .filter(transaction::Column::AccountId.eq(account.id.as_str()))
        .filter(transaction::Column::Kind.eq(Kind::TopUp.as_str()))
        .one(txn)
        .await?
        .ok_or(LedgerError::Refused("no such top-up row"))?;
    let to = if success {
        Status::Success
    } else {
        Status::Failed
    };
    // A payment we had given up on (its row Failed) that the gateway then confirmed
    // turns Success too: one row per payment, whatever its path.
    let from: &[&str] = if success {
        &[Status::Processed.as_str(), Status::Failed.as_str()]
    } else {
        &[Status::Processed.as_str()]
    };
    let moved = transaction::Entity::update_many()
        .col_expr(transaction::Column::Status, Expr::value(to.as_str()))
        .filter(transaction::Column::Id.eq(row.id))
        .filter(transaction::Column::Status.is_in(from.iter().copied()))
        .exec(txn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(LedgerError::Refused("the top-up row has already settled"));
    }
    if success {
        move_balance(txn, &account.id, Bucket::TopUp, row.amount_minor, at).await?;
        // What the account owes for a charge-back is paid first from new credit.
        super::reversal::settle_owed_locked(txn, account, at).await?;
    }
    Ok(())
}

/// A voucher's credits for one account.
#[derive(Clone, Debug)]
pub struct VoucherCredit {
    pub account_id: String,
    pub code: String,
    pub amount: Money,
    pub expires_at: Option<DateTime<Utc>>,
    pub description: String,
    /// Where the grant came from, when a customer redeemed a campaign's code.
    pub origin: Option<GrantOrigin>,
}

/// The campaign, code and Apply Code click a grant was redeemed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantOrigin {
    pub campaign_id: i64,
    pub voucher_code_id: i64,
    pub redeem_token: Option<String>,
}

/// Grants voucher credits: a grant (what is left of it is tracked for spending and
/// expiry), a Success row in the voucher bucket, and the balance, together.
pub async fn grant_voucher_in(
    txn: &DatabaseTransaction,
    credit: &VoucherCredit,
    at: DateTime<Utc>,
) -> Result<transaction::Model, LedgerError> {
    let account = lock_account(txn, &credit.account_id).await?;
    Ok(grant_voucher_locked(txn, &account, credit, at).await?.1)
}

/// [`grant_voucher_in`] for an account this transaction has locked already.
pub async fn grant_voucher_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    credit: &VoucherCredit,
    at: DateTime<Utc>,
) -> Result<(voucher_grant::Model, transaction::Model), LedgerError> {
    if credit.account_id != account.id {
        return Err(LedgerError::Refused("the grant is for another account"));
    }
    if credit.amount.currency() != account.currency {
        return Err(LedgerError::CurrencyMismatch {
            given: credit.amount.currency(),
            account: account.currency,
        });
    }
    let amount = credit
        .amount
        .to_minor()
        .filter(|m| *m > 0)
        .ok_or(LedgerError::Refused(
            "a voucher grant must be a positive amount",
        ))?;
    move_balance(txn, &account.id, Bucket::Voucher, amount, at).await?;
    let origin = credit.origin.as_ref();
    let grant = voucher_grant::ActiveModel {
        account_id: Set(account.id.clone()),
        code: Set(credit.code.clone()),
        amount_minor: Set(amount),
        remaining_minor: Set(amount),
        expires_at: Set(credit.expires_at),
        created_at: Set(at),
        campaign_id: Set(origin.map(|o| o.campaign_id)),
        voucher_code_id: Set(origin.map(|o| o.voucher_code_id)),
        redeem_token: Set(origin.and_then(|o| o.redeem_token.clone())),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let row = transaction::ActiveModel {
        account_id: Set(account.id.clone()),
        bucket: Set(Bucket::Voucher.as_str().to_owned()),
        kind: Set(Kind::VoucherGrant.as_str().to_owned()),
        service: Set(Some(Service::System.as_str().to_owned())),
        source: Set("Voucher".to_owned()),
        description: Set(credit.description.clone()),
        narrative: Set(Some(Narrative::VoucherGrant.to_json())),
        voucher_code: Set(Some(credit.code.clone())),
        status: Set(Status::Success.as_str().to_owned()),
        amount_minor: Set(amount),
        created_at: Set(at),
        voucher_grant_id: Set(Some(grant.id)),
        ..Default::default()
    };
    let row = row.insert(txn).await?;
    Ok((grant, row))
}

/// A charge-back's movement of the (locked) account's top-up credits: taken back
/// (negative) or restored after a won dispute (positive). Kind `reversal`, Service
/// "Payment Gateway", the top-up's gateway as the Source, its payment reference, and the
/// top-up row it reverses.
pub async fn reversal_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    amount_minor: i64,
    top_up: &transaction::Model,
    narrative: &Narrative,
    at: DateTime<Utc>,
) -> Result<transaction::Model, LedgerError> {
    if amount_minor == 0 || top_up.account_id != account.id {
        return Err(LedgerError::Refused(
            "a reversal moves credit of its own account",
        ));
    }
    move_balance(txn, &account.id, Bucket::TopUp, amount_minor, at).await?;
    let row = transaction::ActiveModel {
        account_id: Set(account.id.clone()),
        bucket: Set(Bucket::TopUp.as_str().to_owned()),
        kind: Set(Kind::Reversal.as_str().to_owned()),
        service: Set(Some(Service::PaymentGateway.as_str().to_owned())),
        source: Set(top_up.source.clone()),
        description: Set(narrative.english("")),
        narrative: Set(Some(narrative.to_json())),
        status: Set(Status::Success.as_str().to_owned()),
        amount_minor: Set(amount_minor),
        created_at: Set(at),
        payment_reference: Set(top_up.payment_reference.clone()),
        reverses_id: Set(Some(top_up.id)),
        ..Default::default()
    };
    Ok(row.insert(txn).await?)
}

/// The code an operator's credit to the voucher bucket is granted under.
pub const ADJUSTMENT_GRANT_CODE: &str = "BILLING-SUPPORT";

/// An operator's correction of one bucket of the (locked) account: `amount` signed,
/// ledger kind `adjustment`, Service "Billing Support", the customer's `description`,
/// and `key` (`adjustment:<id>`) on every row. A voucher credit is a grant that never
/// expires; a voucher debit takes from grants soonest-expiring first, one row per
/// grant. A debit larger than the bucket writes nothing and returns `Short`.
pub async fn adjust_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    bucket: Bucket,
    amount: Money,
    description: &str,
    key: &str,
    at: DateTime<Utc>,
) -> Result<Spent, LedgerError> {
    if amount.currency() != account.currency {
        return Err(LedgerError::CurrencyMismatch {
            given: amount.currency(),
            account: account.currency,
        });
    }
    let minor = amount
        .to_minor()
        .filter(|m| *m != 0)
        .ok_or(LedgerError::Refused("an adjustment must move some credit"))?;
    let row = |bucket: Bucket, amount_minor: i64| transaction::ActiveModel {
        account_id: Set(account.id.clone()),
        bucket: Set(bucket.as_str().to_owned()),
        kind: Set(Kind::Adjustment.as_str().to_owned()),
        service: Set(Some(Service::BillingSupport.as_str().to_owned())),
        source: Set(Service::BillingSupport.label().to_owned()),
        description: Set(description.to_owned()),
        narrative: Set(Some(Narrative::Adjustment.to_json())),
        status: Set(Status::Success.as_str().to_owned()),
        amount_minor: Set(amount_minor),
        created_at: Set(at),
        idempotency_key: Set(Some(key.to_owned())),
        ..Default::default()
    };
    let mut rows = Vec::new();
    match bucket {
        Bucket::TopUp => {
            if minor < 0 {
                let held = balances(txn, &account.id, account.currency).await?;
                if held.top_up.to_minor().unwrap_or(0) < -minor {
                    return Ok(Spent::Short { balances: held });
                }
            }
            move_balance(txn, &account.id, Bucket::TopUp, minor, at).await?;
            rows.push(row(Bucket::TopUp, minor).insert(txn).await?);
        }
        Bucket::Voucher if minor > 0 => {
            move_balance(txn, &account.id, Bucket::Voucher, minor, at).await?;
            let grant = voucher_grant::ActiveModel {
                account_id: Set(account.id.clone()),
                code: Set(ADJUSTMENT_GRANT_CODE.to_owned()),
                amount_minor: Set(minor),
                remaining_minor: Set(minor),
                expires_at: Set(None),
                created_at: Set(at),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            let mut credit = row(Bucket::Voucher, minor);
            credit.voucher_code = Set(Some(grant.code));
            credit.voucher_grant_id = Set(Some(grant.id));
            rows.push(credit.insert(txn).await?);
        }
        Bucket::Voucher => {
            let live = spendable_grants(txn, account, at).await?;
            let held: i64 = live.iter().map(|g| g.remaining_minor).sum();
            if held < -minor {
                return Ok(Spent::Short {
                    balances: balances(txn, &account.id, account.currency).await?,
                });
            }
            let (debits, _) =
                take_from_grants(txn, live, -minor, |take| row(Bucket::Voucher, -take)).await?;
            rows.extend(debits);
            move_balance(txn, &account.id, Bucket::Voucher, minor, at).await?;
        }
    }
    Ok(Spent::Done {
        rows,
        balances: balances(txn, &account.id, account.currency).await?,
    })
}

/// Removes what is left of every grant of the (locked) account that expired by `at`,
/// one Expiry row per grant.
pub async fn expire_due_in(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    at: DateTime<Utc>,
) -> Result<Vec<transaction::Model>, LedgerError> {
    let due = voucher_grant::Entity::find()
        .filter(voucher_grant::Column::AccountId.eq(account.id.as_str()))
        .filter(voucher_grant::Column::RemainingMinor.gt(0))
        .filter(voucher_grant::Column::ExpiresAt.lte(at))
        .all(txn)
        .await?;
    expire_grants_in(txn, account, due, at).await
}

/// Expires these grants of the locked account: what is left of each leaves through an
/// Expiry row, never silently.
async fn expire_grants_in(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    due: Vec<voucher_grant::Model>,
    at: DateTime<Utc>,
) -> Result<Vec<transaction::Model>, LedgerError> {
    let mut rows = Vec::with_capacity(due.len());
    for grant in due {
        let left = grant.remaining_minor;
        voucher_grant::Entity::update_many()
            .col_expr(voucher_grant::Column::RemainingMinor, Expr::value(0_i64))
            .filter(voucher_grant::Column::Id.eq(grant.id))
            .exec(txn)
            .await?;
        move_balance(txn, &account.id, Bucket::Voucher, -left, at).await?;
        let expired = Narrative::VoucherExpired {
            code: grant.code.clone(),
        };
        let row = transaction::ActiveModel {
            account_id: Set(account.id.clone()),
            bucket: Set(Bucket::Voucher.as_str().to_owned()),
            kind: Set(Kind::Expiry.as_str().to_owned()),
            service: Set(Some(Service::System.as_str().to_owned())),
            source: Set("Voucher".to_owned()),
            description: Set(expired.english("")),
            narrative: Set(Some(expired.to_json())),
            voucher_code: Set(Some(grant.code.clone())),
            status: Set(Status::Success.as_str().to_owned()),
            amount_minor: Set(-left),
            created_at: Set(at),
            voucher_grant_id: Set(Some(grant.id)),
            ..Default::default()
        };
        rows.push(row.insert(txn).await?);
    }
    if !rows.is_empty() {
        let expired: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::json!({ "code": r.voucher_code, "amount_minor": -r.amount_minor }))
            .collect();
        audit::append(
            txn,
            &audit::Entry {
                actor: &audit::Actor::System,
                action: "voucher.credits_expired",
                account_id: Some(&account.id),
                subject: format!("account:{}", account.id),
                before: serde_json::json!({}),
                after: serde_json::json!({ "expired": expired }),
                reason: "the voucher credits passed their expiry date",
            },
            at,
        )
        .await?;
    }
    Ok(rows)
}

/// Expires every due grant of every account, one account per transaction. Safe to run
/// from several processes at once: each account is locked, and a grant already expired
/// has nothing left to expire. Returns how many grants expired.
pub async fn expire_due(db: &Db, at: DateTime<Utc>) -> Result<usize, LedgerError> {
    let accounts: Vec<String> = voucher_grant::Entity::find()
        .select_only()
        .column(voucher_grant::Column::AccountId)
        .distinct()
        .filter(voucher_grant::Column::RemainingMinor.gt(0))
        .filter(voucher_grant::Column::ExpiresAt.lte(at))
        .into_tuple()
        .all(db.conn())
        .await?;
    let mut expired = 0;
    for account_id in accounts {
        let txn = db.write().await?;
        let account = lock_account(&txn, &account_id).await?;
        expired += expire_due_in(&txn, &account, at).await?.len();
        txn.commit().await?;
    }
    Ok(expired)
}

/// What a bucket's Success rows add up to: what its balance must be.
pub async fn success_sum<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    bucket: Bucket,
) -> Result<i64, DbErr> {
    Ok(transaction::Entity::find()
        .select_only()
        .column_as(
            // SUM of a BIGINT is NUMERIC on PostgreSQL.
            Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
            "total",
        )
        .filter(transaction::Column::AccountId.eq(account_id))
        .filter(transaction::Column::Bucket.eq(bucket.as_str()))
        .filter(transaction::Column::Status.eq(Status::Success.as_str()))
        .into_tuple()
        .one(conn)
        .await?
        .unwrap_or(0))
}

/// Checks an account's books: each bucket's balance equals the sum of its Success rows,
/// no balance is negative, and the voucher balance equals what its grants have left.
/// Returns what disagrees, if anything.
pub async fn audit<C: ConnectionTrait>(conn: &C, account_id: &str) -> Result<Vec<String>, DbErr> {
    let mut problems = Vec::new();
    for bucket in Bucket::ALL {
        let stored: i64 = balance::Entity::find()
            .select_only()
            .column(balance::Column::AmountMinor)
            .filter(balance::Column::AccountId.eq(account_id))
            .filter(balance::Column::Bucket.eq(bucket.as_str()))
            .into_tuple()
            .one(conn)
            .await?
            .unwrap_or(0);
        let summed = success_sum(conn, account_id, *bucket).await?;
        if stored < 0 {
            problems.push(format!("{} balance is negative: {stored}", bucket.as_str()));
        }
        if stored != summed {
            problems.push(format!(
                "{} balance {stored} differs from its Success rows' sum {summed}",
                bucket.as_str()
            ));
        }
        if *bucket == Bucket::Voucher {
            let granted_left: i64 = voucher_grant::Entity::find()
                .select_only()
                .column_as(
                    Expr::cust("CAST(COALESCE(SUM(remaining_minor), 0) AS BIGINT)"),
                    "left",
                )
                .filter(voucher_grant::Column::AccountId.eq(account_id))
                .into_tuple()
                .one(conn)
                .await?
                .unwrap_or(0);
            if granted_left != stored {
                problems.push(format!(
                    "voucher balance {stored} differs from the grants' remaining {granted_left}"
                ));
            }
        }
    }
    Ok(problems)
}
