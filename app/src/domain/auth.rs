//! Users and passwords. Passwords are hashed with Argon2id (the `argon2` crate's
//! defaults); an unknown email and a wrong password fail the same way, after the same
//! amount of work, so sign-in cannot be used to find out who has an account.

use super::entities::user;
use super::settings;
use crate::model::session::Role;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};
use std::sync::OnceLock;

/// Why a user could not be created or signed in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("The email or password is incorrect.")]
    BadCredentials,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("the session could not be read: {0}")]
    Session(String),
    #[error("Too many attempts, try again in {} minutes.", .0.minutes())]
    Throttled(super::throttle::Throttled),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The session key holding the signed-in user's id.
pub const SESSION_USER_KEY: &str = "user_id";

/// The day (UTC) a signed-in session was last seen. Sessions end after 7 days without a
/// visit, but tower-sessions moves a session's end (in the store and in the cookie) only
/// when the session is saved, that is when it changes; writing the day when it differs
/// saves an active session once a day, so it lasts while it is used, without a write
/// per request.
pub const SESSION_SEEN_KEY: &str = "seen_on";

/// Shortest password we accept.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Emails compare case-insensitively and without surrounding spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn validate_email(email: &str) -> Result<(), AuthError> {
    if crate::model::billing::is_email(email) {
        Ok(())
    } else {
        Err(AuthError::Invalid(
            "enter a valid email address, such as name@example.com",
        ))
    }
}

/// Hashes a password for storage (PHC string, random salt).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// A hash to verify against when the email is unknown, so that case costs the same.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never matches").unwrap_or_default())
}

/// Creates a user.
pub async fn create_user<C: ConnectionTrait>(
    conn: &C,
    email: &str,
    password: &str,
    role: Role,
    at: DateTime<Utc>,
) -> Result<user::Model, AuthError> {
    let email = normalize_email(email);
    validate_email(&email)?;
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::Invalid(
            "the password must have at least 8 characters",
        ));
    }
    if find_by_email(conn, &email).await?.is_some() {
        return Err(AuthError::EmailTaken);
    }
    let user = user::ActiveModel {
        email: Set(email),
        password_hash: Set(hash_password(password)?),
        role: Set(role.as_str().to_owned()),
        time_zone: Set("UTC".to_owned()),
        // Not chosen yet: the language of their first sign-in becomes it
        // (`settings::adopt_language`).
        language: Set(settings::NOT_CHOSEN.to_owned()),
        // Dates as the language writes them until the user picks a format.
        date_format: Set("auto".to_owned()),
        created_at: Set(at),
        ..Default::default()
    };
    Ok(user.insert(conn).await?)
}

/// The user with this email, if any.
pub async fn find_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(email)))
        .one(conn)
        .await
}

/// The threads that check passwords. Argon2 takes 19 MiB per hash (its default memory
/// cost), and the allocator keeps each thread's memory after it is freed: unbounded
/// concurrent sign-ins on the blocking pool grew the server by gigabytes and starved the
/// usage API. A fixed set of (cores / 2, at least one) threads, fed through a queue,
/// bounds both: waiting sign-ins hold only a small future.
fn hashing_queue() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<HashJob>> {
    static QUEUE: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<HashJob>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (send, receive) = std::sync::mpsc::channel::<HashJob>();
        let receive = std::sync::Arc::new(std::sync::Mutex::new(receive));
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        for n in 0..(cores / 2).max(1) {
            let receive = receive.clone();
            let _ = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    loop {
                        let job = receive.lock().map(|r| r.recv());
                        match job {
                            Ok(Ok(job)) => job(),
                            _ => return,
                        }
                    }
                });
        }
        std::sync::Mutex::new(send)
    })
}

type HashJob = Box<dyn FnOnce() + Send>;

/// Runs a password check on the hashing threads.
async fn on_hashing_thread(password: String, stored: String) -> Result<bool, AuthError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = reply.send(password_matches(&password, &stored));
    });
    hashing_queue()
        .lock()
        .map_err(|e| AuthError::Hashing(e.to_string()))?
        .send(job)
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    answer.await.map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Signs in, throttled: after [`throttle::SIGN_IN_EMAIL`] failures for an email (known
/// or not) or [`throttle::SIGN_IN_IP`] from one address, the next attempt is refused,
/// even with the right password, until the window frees a slot. Failures are counted in
/// the database, so every server process shares the count; a success clears the email's.
pub async fn sign_in<C: ConnectionTrait>(
    conn: &C,
    email: &str,
    password: &str,
    client_ip: &str,
    at: DateTime<Utc>,
) -> Result<user::Model, AuthError> {
    use super::throttle::{self, SIGN_IN_EMAIL, SIGN_IN_IP};
    let email = normalize_email(email);
    // Counted before the check, so a burst of concurrent guesses gets no more through
    // than one at a time would.
    let by_email = match throttle::attempt(conn, SIGN_IN_EMAIL, &email, at).await? {
        Ok(id) => id,
        Err(wait) => return Err(AuthError::Throttled(wait)),
    };
    let by_address = match throttle::attempt(conn, SIGN_IN_IP, client_ip, at).await? {
        Ok(id) => id,
        Err(wait) => {
            throttle::release(conn, by_email).await?;
            return Err(AuthError::Throttled(wait));
        }
    };
    match verify_credentials(conn, &email, password).await {
        Ok(user) => {
            // A success counts against nobody, and clears the email's failures.
            throttle::clear(conn, SIGN_IN_EMAIL, &email).await?;
            throttle::release(conn, by_address).await?;
            Ok(user)
        }
        Err(e) => Err(e),
    }
}

/// Checks an email and password. Argon2 runs on the hashing threads: it is slow on
/// purpose and must not stall the async workers.
pub async fn verify_credentials<C: ConnectionTrait>(
    conn: &C,
    email: &str,
    password: &str,
) -> Result<user::Model, AuthError> {
    let user = find_by_email(conn, email).await?;
    let stored = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let matches = on_hashing_thread(password, stored).await?;
    match user {
        Some(user) if matches => Ok(user),
        _ => Err(AuthError::BadCredentials),
    }
}

/// Sets the time zone a user reads dates in; refuses names that are not IANA zones.
pub async fn set_time_zone<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    time_zone: &str,
) -> Result<(), AuthError> {
    if time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(AuthError::Invalid(
            "unknown time zone; use an IANA name such as Asia/Tokyo",
        ));
    }
    user::Entity::update_many()
        .col_expr(
            user::Column::TimeZone,
            sea_orm::sea_query::Expr::value(time_zone),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The user a session is signed in as, if it names one who still exists. The one place
/// that decides who is asking: server functions and the export download both call it.
pub async fn signed_in<C: ConnectionTrait>(
    conn: &C,
    session: &tower_sessions::Session,
) -> Result<Option<user::Model>, AuthError> {
    signed_in_as(session, |id| find_by_id(conn, id)).await
}

/// `signed_in`, with `read` reading the user with the session's user id and whatever
/// else the caller needs with them in the same statement (`None`: no such user).
pub async fn signed_in_as<T, Read>(
    session: &tower_sessions::Session,
    read: impl FnOnce(i64) -> Read,
) -> Result<Option<T>, AuthError>
where
    Read: Future<Output = Result<Option<T>, DbErr>>,
{
    let id = session
        .get::<i64>(SESSION_USER_KEY)
        .await
        .map_err(|e| AuthError::Session(e.to_string()))?;
    let Some(id) = id else { return Ok(None) };
    let user = read(id).await?;
    if user.is_some() {
        let seen = session
            .get::<String>(SESSION_SEEN_KEY)
            .await
            .map_err(|e| AuthError::Session(e.to_string()))?;
        mark_seen(session, seen.as_deref()).await?;
    }
    Ok(user)
}

/// `signed_in_as`, from the session's record and the user read with it
/// (`DbSessionStore::load_with_user`, where `read` is that user's id and what came with
/// them), without reading the session again. The same answer when the row's `user_id`
/// column names the user its data does; `None` when it does not (a row saved before the
/// column existed, or a user since deleted): ask `signed_in_as` then.
pub async fn signed_in_from<T>(
    session: &tower_sessions::Session,
    record: &tower_sessions::session::Record,
    read: Option<(i64, T)>,
) -> Result<Option<Option<T>>, AuthError> {
    let named = record
        .data
        .get(SESSION_USER_KEY)
        .and_then(serde_json::Value::as_i64);
    match (named, read) {
        (None, _) => Ok(Some(None)),
        (Some(named), Some((id, found))) if named == id => {
            let seen = record
                .data
                .get(SESSION_SEEN_KEY)
                .and_then(serde_json::Value::as_str);
            mark_seen(session, seen).await?;
            Ok(Some(Some(found)))
        }
        (Some(_), _) => Ok(None),
    }
}

/// Writes today into a signed-in session last `seen` on another day (`SESSION_SEEN_KEY`).
async fn mark_seen(session: &tower_sessions::Session, seen: Option<&str>) -> Result<(), AuthError> {
    let today = chrono::Utc::now().date_naive().to_string();
    if seen != Some(today.as_str()) {
        session
            .insert(SESSION_SEEN_KEY, today)
            .await
            .map_err(|e| AuthError::Session(e.to_string()))?;
    }
    Ok(())
}

/// The user with this id, if they still exist.
pub async fn find_by_id<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(conn).await
}

/// The emails of these users, by id (for lists that name who did what).
pub async fn emails<C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, String>, DbErr> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash_password("demo-password").unwrap();
        let b = hash_password("demo-password").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(password_matches("demo-password", &a));
        assert!(!password_matches("demo-passwore", &a));
        assert!(!password_matches("demo-password", "not a hash"));
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(normalize_email("  Demo@Example.COM "), "demo@example.com");
        assert!(validate_email("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "@b.co", "a b@c.co"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
