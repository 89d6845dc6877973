//! Throttling of failed attempts (wrong passwords, top-up starts), counted in the
//! database so that every server process shares the count.
//!
//! Why not a crate: `governor` and `tower_governor` (the maintained Rust rate limiters)
//! keep their counters in one process's memory; two server processes would each allow
//! the full count, and a restart would forget it. The rule here is a sliding window:
//! at most `max` recorded attempts per subject within `window`; the next one waits
//! until the oldest of them leaves the window.

use super::entities::attempt;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// How many attempts of a kind a subject may make within a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub kind: &'static str,
    pub max: u64,
    pub window_minutes: i64,
}

impl Limit {
    fn window(self) -> Duration {
        Duration::minutes(self.window_minutes)
    }
}

/// Wrong passwords per email (known or not, so the limit reveals nobody): five per
/// 15 minutes (OWASP ASVS 2.2.1).
pub const SIGN_IN_EMAIL: Limit = Limit {
    kind: "sign_in_email",
    max: 5,
    window_minutes: 15,
};

/// Wrong passwords per client IP, across emails (one address trying many accounts).
pub const SIGN_IN_IP: Limit = Limit {
    kind: "sign_in_ip",
    max: 20,
    window_minutes: 15,
};

/// Pay clicks per account: a person pays a handful of times an hour (a double click
/// counts twice); more is a script opening payments at the gateways in our name.
pub const TOP_UP_START: Limit = Limit {
    kind: "top_up_start",
    max: 20,
    window_minutes: 10,
};

/// The subject has used up its attempts; it may try again after `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole minutes to wait, at least one.
    pub fn minutes(self) -> u32 {
        let seconds = self.retry_after.num_seconds().max(1);
        u32::try_from((seconds + 59) / 60).unwrap_or(u32::MAX)
    }
}

/// Counts an attempt against `subject`, then checks the window with it included, so
/// that concurrent attempts cannot all pass a check made before any of them was
/// counted: whichever way they interleave, at most `max` are let through. A refused
/// attempt is taken back (it does not lengthen the wait). Returns the attempt's id, for
/// [`release`] when it turns out not to count (a successful sign-in).
pub async fn attempt<C: ConnectionTrait>(
    conn: &C,
    limit: Limit,
    subject: &str,
    at: DateTime<Utc>,
) -> Result<Result<i64, Throttled>, DbErr> {
    let subject: String = subject.chars().take(300).collect();
    let mine = attempt::ActiveModel {
        kind: Set(limit.kind.to_owned()),
        subject: Set(subject.clone()),
        at: Set(at),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let since = at - limit.window();
    let recent = || {
        attempt::Entity::find()
            .filter(attempt::Column::Kind.eq(limit.kind))
            .filter(attempt::Column::Subject.eq(subject.as_str()))
            .filter(attempt::Column::At.gt(since))
    };
    let count = recent().count(conn).await?;
    if count <= limit.max {
        return Ok(Ok(mine.id));
    }
    release(conn, mine.id).await?;
    // The others number `count - 1 ≥ max`; a slot frees when the oldest
    // `count - 1 - max + 1` of them have left the window.
    let freeing = recent()
        .filter(attempt::Column::Id.ne(mine.id))
        .order_by_asc(attempt::Column::At)
        .order_by_asc(attempt::Column::Id)
        .offset(count - 1 - limit.max)
        .one(conn)
        .await?;
    let free_at = freeing.map_or(at + limit.window(), |a| a.at + limit.window());
    Ok(Err(Throttled {
        retry_after: (free_at - at).max(Duration::seconds(1)),
    }))
}

/// Takes back one attempt.
pub async fn release<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    attempt::Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Forgets `subject`'s attempts (a successful sign-in clears its email's failures).
pub async fn clear<C: ConnectionTrait>(conn: &C, limit: Limit, subject: &str) -> Result<(), DbErr> {
    attempt::Entity::delete_many()
        .filter(attempt::Column::Kind.eq(limit.kind))
        .filter(attempt::Column::Subject.eq(subject))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes attempts older than a day (longer than any window); the jobs call it.
pub async fn purge<C: ConnectionTrait>(conn: &C, at: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(attempt::Entity::delete_many()
        .filter(attempt::Column::At.lt(at - Duration::days(1)))
        .exec(conn)
        .await?
        .rows_affected)
}
