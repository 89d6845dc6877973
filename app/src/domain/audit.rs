//! The audit log: who did what to which account, when, from what to what, and why.
//!
//! What it records: every action of an operator (console or command line) and of the
//! system (jobs, gateway events) that changes money or settings, and every change of a
//! plan or a setting whoever makes it. A customer's own spending (usage charges, voucher
//! redemptions, payments) is recorded by the ledger, row by row, and not repeated here.
//!
//! Append-only and hash-chained: each entry carries the hash of the one before it and
//! its own hash over its contents (SHA-256), and its id is the next in an unbroken
//! sequence. [`verify`] recomputes the chain: an edited entry no longer matches its hash,
//! a deleted one leaves a gap or a broken link, a truncated tail disagrees with the head.
//! The database refuses UPDATE and DELETE on the table as well (triggers).
//!
//! [`append`] runs inside the transaction of the change it records, as its last write:
//! it updates the one-row head, which queues concurrent appenders so the chain has one
//! order. Taking it last keeps lock order simple (account, then head): no deadlocks.

use super::entities::{audit_entry, audit_head, user};
use super::settings::LocalTime;
use crate::model::operator::{AUDIT_PAGE_SIZE, AuditFilter, AuditLine, AuditPage};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user (operator or customer).
    User {
        id: i64,
        email: String,
        role: String,
    },
    /// Someone with the server's command line.
    CommandLine,
    /// A job or a gateway's event.
    System,
}

impl Actor {
    /// The signed-in user as an actor.
    pub fn user(user: &user::Model) -> Actor {
        Actor::User {
            id: user.id,
            email: user.email.clone(),
            role: user.role.clone(),
        }
    }

    /// How the log writes it: `operator:3 ops@example.com`, `command line`, `system`.
    pub fn text(&self) -> String {
        match self {
            Actor::User { id, email, role } => format!("{role}:{id} {email}"),
            Actor::CommandLine => "command line".into(),
            Actor::System => "system".into(),
        }
    }
}

/// One thing to record.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub actor: &'a Actor,
    /// `adjustment.applied`, `plan.renewed`, `capability.granted`…
    pub action: &'a str,
    pub account_id: Option<&'a str>,
    /// What was acted on: `adjustment:12`, `plan:pro`, `user:4`.
    pub subject: String,
    /// The fields that changed, before and after (JSON objects; `{}` when none).
    pub before: Value,
    pub after: Value,
    pub reason: &'a str,
}

/// Appends `entry` to the chain inside `txn`. Call it as the transaction's last write.
pub async fn append(
    txn: &DatabaseTransaction,
    entry: &Entry<'_>,
    at: DateTime<Utc>,
) -> Result<audit_entry::Model, DbErr> {
    // Taking the next id locks the head until commit: appenders queue here.
    let head = audit_head::Entity::update_many()
        .col_expr(
            audit_head::Column::LastId,
            Expr::col(audit_head::Column::LastId).add(1),
        )
        .filter(audit_head::Column::Id.eq(1))
        .exec_with_returning(txn)
        .await?
        .pop()
        .ok_or_else(|| DbErr::RecordNotFound("the audit log's head row is missing".into()))?;
    // Both databases keep microseconds: hash what will be read back.
    let mut row = audit_entry::Model {
        id: head.last_id,
        at: at.trunc_subsecs(6),
        actor: entry.actor.text(),
        action: entry.action.to_owned(),
        account_id: entry.account_id.map(str::to_owned),
        subject: entry.subject.clone(),
        before: entry.before.to_string(),
        after: entry.after.to_string(),
        reason: entry.reason.to_owned(),
        prev_hash: head.last_hash,
        hash: String::new(),
    };
    row.hash = hash_of(&row);
    let saved = audit_entry::ActiveModel {
        id: Set(row.id),
        at: Set(row.at),
        actor: Set(row.actor),
        action: Set(row.action),
        account_id: Set(row.account_id),
        subject: Set(row.subject),
        before: Set(row.before),
        after: Set(row.after),
        reason: Set(row.reason),
        prev_hash: Set(row.prev_hash),
        hash: Set(row.hash.clone()),
    }
    .insert(txn)
    .await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::LastHash, Expr::value(row.hash))
        .filter(audit_head::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(saved)
}

/// An entry's hash: SHA-256 over every field but the hash, each length-prefixed so no
/// two different entries can hash the same text.
pub fn hash_of(row: &audit_entry::Model) -> String {
    let at = row.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let id = row.id.to_string();
    let account = row.account_id.as_deref().unwrap_or("\u{0}none");
    let mut hasher = Sha256::new();
    for field in [
        id.as_str(),
        at.as_str(),
        row.actor.as_str(),
        row.action.as_str(),
        account,
        row.subject.as_str(),
        row.before.as_str(),
        row.after.as_str(),
        row.reason.as_str(),
        row.prev_hash.as_str(),
    ] {
        hasher.update(field.len().to_string().as_bytes());
        hasher.update(b":");
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    /// The last entry's hash: keep it somewhere else to detect a rewritten tail later.
    pub head_hash: String,
    /// Empty when the chain is whole.
    pub problems: Vec<String>,
}

/// At most this many problems are listed (the first break is what matters).
const MAX_PROBLEMS: usize = 20;

/// Walks the whole chain in id order and checks every link, hash and id.
pub async fn verify<C: ConnectionTrait>(conn: &C) -> Result<Verified, DbErr> {
    let mut problems = Vec::new();
    let mut expected_id = 1_i64;
    let mut prev_hash = GENESIS.to_owned();
    let mut entries = 0_u64;
    loop {
        let batch = audit_entry::Entity::find()
            .filter(audit_entry::Column::Id.gte(expected_id))
            .order_by_asc(audit_entry::Column::Id)
            .limit(1000)
            .all(conn)
            .await?;
        let Some(last) = batch.last().map(|r| r.id) else {
            break;
        };
        for row in batch {
            entries += 1;
            if row.id != expected_id {
                problems.push(format!(
                    "entries {expected_id}–{} are missing (deleted)",
                    row.id - 1
                ));
            }
            if row.prev_hash != prev_hash {
                problems.push(format!(
                    "entry {} does not link to the entry before it (an entry before it was changed or removed)",
                    row.id
                ));
            }
            if hash_of(&row) != row.hash {
                problems.push(format!(
                    "entry {} ({} by {}) does not match its hash: it was edited",
                    row.id, row.action, row.actor
                ));
            }
            prev_hash = row.hash;
            expected_id = row.id + 1;
        }
        expected_id = last + 1;
    }
    let head = audit_head::Entity::find_by_id(1).one(conn).await?;
    match head {
        None => problems.push("the audit log's head row is missing".into()),
        Some(head) if head.last_id != expected_id - 1 || head.last_hash != prev_hash => {
            problems.push(format!(
                "the head says the log ends at entry {}, but it ends at entry {}: entries were removed from its end or the head was changed",
                head.last_id,
                expected_id - 1
            ));
        }
        Some(_) => {}
    }
    problems.truncate(MAX_PROBLEMS);
    Ok(Verified {
        entries,
        head_hash: prev_hash,
        problems,
    })
}

/// A page of the log, newest first, with the filters applied.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    filter: &AuditFilter,
    dates: LocalTime,
) -> Result<AuditPage, DbErr> {
    let mut query = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
    let account = filter.account_id.trim();
    if !account.is_empty() {
        query = query.filter(audit_entry::Column::AccountId.eq(account));
    }
    let action = filter.action.trim();
    if !action.is_empty() {
        query = query.filter(audit_entry::Column::Action.eq(action));
    }
    let actor = filter.actor.trim();
    if !actor.is_empty() {
        query = query.filter(audit_entry::Column::Actor.contains(actor));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_entry::Column::Id.lt(before));
    }
    let mut rows = query.limit(AUDIT_PAGE_SIZE + 1).all(conn).await?;
    let more = rows.len() as u64 > AUDIT_PAGE_SIZE;
    rows.truncate(AUDIT_PAGE_SIZE as usize);
    let next_before = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(AuditPage {
        lines: rows
            .into_iter()
            .map(|r| AuditLine {
                id: r.id,
                at: dates.date_time(r.at),
                actor: r.actor,
                action: r.action,
                account_id: r.account_id,
                subject: r.subject,
                before: r.before,
                after: r.after,
                reason: r.reason,
            })
            .collect(),
        next_before,
    })
}

/// The actions the log's filter offers, in the order they were first seen.
pub async fn actions<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::Action)
        .distinct()
        .order_by_asc(audit_entry::Column::Action)
        .into_tuple()
        .all(conn)
        .await
}
