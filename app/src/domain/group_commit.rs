//! Group commit: the charges waiting at the same moment share one database transaction.
//!
//! AI inference is billed per request, so one customer's account can receive thousands
//! of charges a second, and many customers charge at once. Charged one by one, each
//! charge would lock its account, write, and wait for its own commit (an fsync) while
//! the others queue on the lock: an account would never go faster than one charge per
//! commit, and every charge would pay its own round trips. Here the first caller starts
//! a task that takes every charge waiting (up to [`MAX_BATCH`], whatever their
//! accounts), locks their accounts in id order, applies each account's charges in
//! arrival order (the ledger's [`ledger::charge_accounts_locked`]: the same rules as one
//! charge), reads every balance in one query, writes every row in one statement and
//! commits once; then it takes the next group. Callers queue in memory meanwhile, and
//! are each answered only after the commit that holds their charge.
//!
//! - A charge the balance cannot cover by its turn is declined alone (its Failed row is
//!   in the batch); the others go on. A refused request (wrong currency, an account that
//!   does not exist) likewise.
//! - A usage API charge keeps its exactly-once record (`usage`) in the same transaction:
//!   a key already answered is replayed, the same key twice in one batch charges once,
//!   and a key another process recorded first (its own batch, committing beside ours)
//!   makes the batch start again, when that key is found answered.
//! - A database failure fails every charge of the batch, and none is committed: each
//!   caller gets an error, as when its own transaction failed.
//! - Other processes (a second server) lock the same account rows, also in id order, so
//!   their batches and ours take turns without deadlock, as single charges did.
//!
//! TigerBeetle and pgledger batch the same way; the figures are in docs/benchmarks.md.

use super::db::{Db, now};
use super::entities::api_idempotency;
use super::ledger::{self, ChargeOutcome, ChargeRequest, LedgerError};
use super::usage::{self, Charged};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;

/// Most charges in one transaction: a bound on how long the account stays locked.
pub const MAX_BATCH: usize = 256;

/// How many times a batch starts again when another account's charge took one of its
/// Idempotency-Keys first (each time, the charges with those keys are answered from
/// the record instead).
const RETRIES: usize = 3;

/// The usage API's exactly-once record for a charge: (API key, Idempotency-Key) and
/// the request's fingerprint.
#[derive(Clone, Debug)]
pub struct Once {
    pub api_key_id: i64,
    pub key: String,
    pub fingerprint: String,
}

/// A charge waiting for its account's next batch.
struct Waiting {
    request: ChargeRequest,
    once: Option<Once>,
    reply: oneshot::Sender<Result<Done, LedgerError>>,
}

/// What became of a charge in its batch.
#[derive(Debug)]
enum Done {
    Outcome(ChargeOutcome),
    Once(Charged),
}

/// The charges waiting, and what the batches have been.
#[derive(Debug, Default)]
pub struct Queues {
    waiting: Mutex<Pending>,
    batches: AtomicU64,
    charges: AtomicU64,
    largest: AtomicU64,
}

/// The charges waiting for the next batch, in arrival order, and whether the task that
/// takes them is running.
#[derive(Debug, Default)]
struct Pending {
    charges: Vec<Waiting>,
    running: bool,
}

impl std::fmt::Debug for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// Batches committed so far and the charges they held; the largest batch since the
/// previous reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSizes {
    pub batches: u64,
    pub charges: u64,
    pub largest: u64,
}

impl Queues {
    /// Charges `request` with the others waiting for its account (see the module notes).
    pub async fn charge(
        &self,
        db: &Db,
        request: ChargeRequest,
    ) -> Result<ChargeOutcome, LedgerError> {
        match self.enqueue(db, request, None).await? {
            Done::Outcome(outcome) => Ok(outcome),
            Done::Once(_) => Err(LedgerError::Refused(
                "a charge without a key was answered as keyed",
            )),
        }
    }

    /// Charges `request` once per (API key, Idempotency-Key), its record written in the
    /// same transaction as the charge.
    pub async fn charge_once(
        &self,
        db: &Db,
        request: ChargeRequest,
        once: Once,
    ) -> Result<Charged, LedgerError> {
        match self.enqueue(db, request, Some(once)).await? {
            Done::Once(charged) => Ok(charged),
            Done::Outcome(_) => Err(LedgerError::Refused(
                "a keyed charge was answered without its key",
            )),
        }
    }

    /// The batches so far (the largest: since the previous reading).
    pub fn sizes(&self) -> BatchSizes {
        BatchSizes {
            batches: self.batches.load(Ordering::Relaxed),
            charges: self.charges.load(Ordering::Relaxed),
            largest: self.largest.swap(0, Ordering::Relaxed),
        }
    }

    async fn enqueue(
        &self,
        db: &Db,
        request: ChargeRequest,
        once: Option<Once>,
    ) -> Result<Done, LedgerError> {
        let (reply, answer) = oneshot::channel();
        let waiting = Waiting {
            request,
            once,
            reply,
        };
        let start = {
            let mut pending = self.lock();
            pending.charges.push(waiting);
            !std::mem::replace(&mut pending.running, true)
        };
        if start {
            // A task of its own, not this caller's future: a caller that goes away (its
            // client disconnected) must not strand the charges queued behind it.
            tokio::spawn(drain(db.clone()));
        }
        answer
            .await
            .map_err(|_| LedgerError::Refused("the charge task stopped"))?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while the queue was held cannot leave it half-changed (each change is
        // one push, flag or take), so a poisoned lock is still usable.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next batch, or `None` (and the task ends, so the next charge starts one)
    /// when nothing waits.
    fn next_batch(&self) -> Option<Vec<Waiting>> {
        let mut pending = self.lock();
        if pending.charges.is_empty() {
            pending.running = false;
            return None;
        }
        let take = pending.charges.len().min(MAX_BATCH);
        Some(pending.charges.drain(..take).collect())
    }

    fn count(&self, size: usize) {
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.charges.fetch_add(size, Ordering::Relaxed);
        self.largest.fetch_max(size, Ordering::Relaxed);
    }
}

/// The task: batch after batch until nothing waits.
async fn drain(db: Db) {
    let _running = Running(db.clone());
    let queues = db.charges();
    while let Some(batch) = queues.next_batch() {
        let items: Vec<(&ChargeRequest, Option<&Once>)> = batch
            .iter()
            .map(|w| (&w.request, w.once.as_ref()))
            .collect();
        let results = match commit(&db, &items).await {
            Ok(results) => {
                queues.count(batch.len());
                results
            }
            Err(e) => {
                tracing::warn!(error = %e, charges = batch.len(), "a batch of charges failed; none was made");
                batch.iter().map(|_| Err(same_error(&e))).collect()
            }
        };
        for (waiting, result) in batch.into_iter().zip(results) {
            // A caller that went away is not answered; its charge stands (a retry with
            // its Idempotency-Key replays the answer).
            let _ = waiting.reply.send(result);
        }
    }
}

/// Held by the task while it drains. Every charge in the process goes through one task,
/// so should it panic (a bug), the charges still waiting must not wait for a task that
/// is gone: its batch's callers get an error (their replies are dropped, nothing of the
/// batch was committed), and a new task takes the charges waiting.
struct Running(Db);

impl Drop for Running {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let runtime = tokio::runtime::Handle::try_current();
        let take_over = {
            let mut pending = self.0.charges().lock();
            let take_over = runtime.is_ok() && !pending.charges.is_empty();
            pending.running = take_over;
            take_over
        };
        if let (true, Ok(runtime)) = (take_over, runtime) {
            runtime.spawn(drain(self.0.clone()));
        }
    }
}

/// One batch in one transaction: its accounts locked, charged in order, recorded,
/// committed.
async fn commit(
    db: &Db,
    items: &[(&ChargeRequest, Option<&Once>)],
) -> Result<Vec<Result<Done, LedgerError>>, LedgerError> {
    let mut ids: Vec<&str> = items.iter().map(|(r, _)| r.account_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    for _ in 0..RETRIES {
        let at = now();
        let txn = db.write().await?;
        let accounts = ledger::lock_accounts(&txn, &ids).await?;
        // Read under the locks: a charge with the same key for one of these accounts
        // has either committed (found here) or waits behind us.
        let seen = answered(&txn, items).await?;
        let keys: Vec<Option<&Once>> = items.iter().map(|(_, once)| *once).collect();
        let plans = plan(&keys, |o| {
            seen.get(&(o.api_key_id, o.key.as_str()))
                .map(|record| usage::replay(record, &o.fingerprint))
        });
        // The charged requests per locked account, in arrival order.
        let account_of = |request: &ChargeRequest| {
            accounts
                .binary_search_by(|a| a.id.as_str().cmp(&request.account_id))
                .ok()
        };
        let mut charged: Vec<Vec<&ChargeRequest>> = vec![Vec::new(); accounts.len()];
        for ((request, _), plan) in items.iter().zip(&plans) {
            if let (Plan::Charge, Some(a)) = (plan, account_of(request)) {
                charged[a].push(*request);
            }
        }
        let mut outcomes: Vec<_> = ledger::charge_accounts_locked(&txn, &accounts, &charged, at)
            .await?
            .into_iter()
            .map(Vec::into_iter)
            .collect();
        // Answers in the batch's order, and the records of the keyed ones.
        let mut results: Vec<Result<Done, LedgerError>> = Vec::with_capacity(items.len());
        let mut records = Vec::new();
        for (&(request, once), plan) in items.iter().zip(plans) {
            let result = match plan {
                Plan::Seen(charged) => Ok(Done::Once(charged)),
                Plan::AsFirst(earlier) => {
                    let same_body = once
                        .zip(keys[earlier])
                        .is_some_and(|(o, first)| o.fingerprint == first.fingerprint);
                    as_first(&results[earlier], same_body)
                }
                Plan::Charge => match account_of(request) {
                    None => Err(LedgerError::AccountNotFound(request.account_id.clone())),
                    Some(a) => match (outcomes[a].next(), once) {
                        (None, _) => {
                            Err(LedgerError::Refused("a charge went missing from its batch"))
                        }
                        (Some(Err(e)), _) => Err(e),
                        (Some(Ok(outcome)), None) => Ok(Done::Outcome(outcome)),
                        (Some(Ok(outcome)), Some(o)) => {
                            let answer = usage::answer_for(&request.account_id, &outcome);
                            records.push(usage::record(
                                o.api_key_id,
                                &o.key,
                                &o.fingerprint,
                                &answer,
                                at,
                            ));
                            Ok(Done::Once(Charged::Fresh(answer)))
                        }
                    },
                },
            };
            results.push(result);
        }
        if !records.is_empty() && !usage::record_all(&txn, records).await? {
            // Another process's charge recorded one of these keys first: start again;
            // that key is then answered from its record, and charges nothing here.
            drop(txn);
            continue;
        }
        txn.commit().await?;
        return Ok(results);
    }
    Err(LedgerError::Refused(
        "Idempotency-Keys kept being taken by other charges",
    ))
}

/// What a batch does with each of its charges.
#[derive(Debug, PartialEq)]
enum Plan {
    /// Charged in this batch.
    Charge,
    /// Its key was answered by an earlier batch: that answer, replayed (or refused, if
    /// the request differs).
    Seen(Charged),
    /// Its key's first charge in this batch is the one at this index: answered as it.
    AsFirst(usize),
}

/// The plan for each charge of a batch, in order (`keys`: each one's Idempotency-Key,
/// if any; `seen`: a key's earlier answer). A charge without a key is charged. A key
/// answered before is answered again, and charges nothing; of one key twice in the
/// batch, only the first is charged.
fn plan(keys: &[Option<&Once>], seen: impl Fn(&Once) -> Option<Charged>) -> Vec<Plan> {
    let mut first: HashMap<(i64, &str), usize> = HashMap::new();
    keys.iter()
        .enumerate()
        .map(|(index, once)| {
            let Some(o) = once else { return Plan::Charge };
            if let Some(answered) = seen(o) {
                return Plan::Seen(answered);
            }
            match first.entry((o.api_key_id, o.key.as_str())) {
                Entry::Occupied(earlier) => Plan::AsFirst(*earlier.get()),
                Entry::Vacant(slot) => {
                    slot.insert(index);
                    Plan::Charge
                }
            }
        })
        .collect()
}

/// The answer to a key repeated in its batch: its first charge's answer, replayed if
/// the two requests are the same, refused (`KeyReused`) if not.
fn as_first(first: &Result<Done, LedgerError>, same_body: bool) -> Result<Done, LedgerError> {
    match first {
        Ok(Done::Once(Charged::Fresh(answer))) if same_body => {
            Ok(Done::Once(Charged::Replayed(answer.clone())))
        }
        Ok(Done::Once(Charged::Fresh(_))) => Ok(Done::Once(Charged::KeyReused)),
        Ok(_) => Err(LedgerError::Refused(
            "a keyed charge was answered without its key",
        )),
        Err(e) => Err(same_error(e)),
    }
}

/// The records already answering the keyed items of a batch, by (API key, key).
async fn answered<'a>(
    txn: &DatabaseTransaction,
    items: &[(&ChargeRequest, Option<&'a Once>)],
) -> Result<HashMap<(i64, &'a str), api_idempotency::Model>, DbErr> {
    let mut found = HashMap::new();
    let keys: Vec<&Once> = items.iter().filter_map(|(_, once)| *once).collect();
    for chunk in keys.chunks(MAX_BATCH) {
        let records = api_idempotency::Entity::find()
            .filter(
                api_idempotency::Column::IdempotencyKey.is_in(chunk.iter().map(|o| o.key.as_str())),
            )
            .all(txn)
            .await?;
        for record in records {
            if let Some(once) = chunk
                .iter()
                .find(|o| o.api_key_id == record.api_key_id && o.key == record.idempotency_key)
            {
                found.insert((once.api_key_id, once.key.as_str()), record);
            }
        }
    }
    Ok(found)
}

/// The same error again, for each charge of a batch that failed as a whole (a
/// database error cannot be cloned; its words are kept).
fn same_error(e: &LedgerError) -> LedgerError {
    match e {
        LedgerError::AccountNotFound(id) => LedgerError::AccountNotFound(id.clone()),
        LedgerError::CurrencyMismatch { given, account } => LedgerError::CurrencyMismatch {
            given: *given,
            account: *account,
        },
        LedgerError::BalanceLimit => LedgerError::BalanceLimit,
        LedgerError::Refused(why) => LedgerError::Refused(why),
        LedgerError::Db(e) => LedgerError::Db(DbErr::Custom(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn once(key: &str, body: &str) -> Once {
        Once {
            api_key_id: 1,
            key: key.to_owned(),
            fingerprint: body.to_owned(),
        }
    }

    #[test]
    fn of_one_key_only_the_first_is_charged_and_an_answered_key_charges_nothing() {
        let (a, a_again, b, answered) = (
            once("a", "x"),
            once("a", "y"),
            once("b", "x"),
            once("c", "x"),
        );
        let keys = [
            None,
            Some(&a),
            Some(&answered),
            Some(&a_again),
            Some(&b),
            None,
        ];
        let plans = plan(&keys, |o| (o.key == "c").then_some(Charged::KeyReused));
        assert_eq!(
            plans,
            vec![
                Plan::Charge,
                Plan::Charge,
                Plan::Seen(Charged::KeyReused),
                Plan::AsFirst(1),
                Plan::Charge,
                Plan::Charge,
            ]
        );
    }

    #[test]
    fn a_repeated_key_replays_its_first_answer_or_is_refused_if_the_request_differs() {
        let answer = usage::Answer {
            status: 201,
            body: serde_json::json!({ "charged": "1.00" }),
        };
        let fresh = Ok(Done::Once(Charged::Fresh(answer.clone())));
        assert!(matches!(
            as_first(&fresh, true),
            Ok(Done::Once(Charged::Replayed(a))) if a == answer
        ));
        assert!(matches!(
            as_first(&fresh, false),
            Ok(Done::Once(Charged::KeyReused))
        ));
        let declined = Err(LedgerError::BalanceLimit);
        assert!(matches!(
            as_first(&declined, true),
            Err(LedgerError::BalanceLimit)
        ));
        let unkeyed = Ok(Done::Once(Charged::KeyReused));
        assert!(matches!(
            as_first(&unkeyed, true),
            Err(LedgerError::Refused(_))
        ));
    }
}
