//! Sign-in and the database session store, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::auth::{self, AuthError};
use app::domain::db::now;
use app::domain::session_store::DbSessionStore;
use app::model::session::Role;
use chrono::Duration;
use support::TestDb;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::SessionStore;

#[tokio::test]
async fn wrong_password_and_unknown_email_fail_alike() {
    let t = TestDb::new().await;
    auth::create_user(
        t.db.conn(),
        "Pat@Example.com",
        "correct horse",
        Role::Customer,
        now(),
    )
    .await
    .unwrap();
    let ok = auth::verify_credentials(t.db.conn(), " pat@example.COM", "correct horse")
        .await
        .unwrap();
    assert_eq!(ok.email, "pat@example.com");
    let wrong = auth::verify_credentials(t.db.conn(), "pat@example.com", "wrong horse")
        .await
        .unwrap_err();
    let unknown = auth::verify_credentials(t.db.conn(), "nobody@example.com", "correct horse")
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::BadCredentials));
    assert!(matches!(unknown, AuthError::BadCredentials));
    assert_eq!(wrong.to_string(), unknown.to_string());
    let taken = auth::create_user(
        t.db.conn(),
        "pat@example.com",
        "another pw",
        Role::Customer,
        now(),
    )
    .await;
    assert!(matches!(taken, Err(AuthError::EmailTaken)));
    let short =
        auth::create_user(t.db.conn(), "q@example.com", "short", Role::Customer, now()).await;
    assert!(matches!(short, Err(AuthError::Invalid(_))));
}

#[tokio::test]
async fn sessions_are_stored_loaded_expired_and_deleted() {
    let t = TestDb::new().await;
    let store = DbSessionStore::new(t.db.clone());
    let mut record = Record {
        id: Id::default(),
        data: [("user_id".to_owned(), serde_json::json!(7))]
            .into_iter()
            .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut record).await.unwrap();
    let loaded = store.load(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
    // Another process (a second store on the same database) sees it too.
    let other = DbSessionStore::new(t.db.clone());
    assert!(other.load(&record.id).await.unwrap().is_some());
    store.delete(&record.id).await.unwrap();
    assert!(store.load(&record.id).await.unwrap().is_none());

    let mut old = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() - time::Duration::minutes(1),
    };
    store.create(&mut old).await.unwrap();
    assert!(store.load(&old.id).await.unwrap().is_none());
    assert_eq!(store.delete_expired().await.unwrap(), 1);
}

/// An active session lasts: the first visit of a day saves it, which moves its end (7
/// days of inactivity) forward; later visits that day write nothing.
#[tokio::test]
async fn a_session_used_each_day_is_renewed_once_a_day() {
    use std::sync::Arc;
    use tower_sessions::{Expiry, Session};
    let t = TestDb::new().await;
    let user = auth::create_user(
        t.db.conn(),
        "daily@example.com",
        "daily password",
        Role::Customer,
        now(),
    )
    .await
    .unwrap();
    let store = Arc::new(DbSessionStore::new(t.db.clone()));
    let week = Expiry::OnInactivity(time::Duration::days(7));
    // Signed in six days ago, last seen then: one day left.
    let mut record = Record {
        id: Id::default(),
        data: [
            (
                auth::SESSION_USER_KEY.to_owned(),
                serde_json::json!(user.id),
            ),
            (
                auth::SESSION_SEEN_KEY.to_owned(),
                serde_json::json!("2026-01-01"),
            ),
        ]
        .into_iter()
        .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(1),
    };
    store.create(&mut record).await.unwrap();

    let visit = Session::new(Some(record.id), store.clone(), Some(week));
    let found = auth::signed_in(t.db.conn(), &visit).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(user.id));
    assert!(
        visit.is_modified(),
        "the day's first visit saves the session"
    );
    visit.save().await.unwrap();
    let saved = store.load(&record.id).await.unwrap().unwrap();
    assert!(saved.expiry_date > time::OffsetDateTime::now_utc() + time::Duration::days(6));

    let again = Session::new(Some(record.id), store.clone(), Some(week));
    assert!(
        auth::signed_in(t.db.conn(), &again)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !again.is_modified(),
        "a second visit the same day writes nothing"
    );
}

#[tokio::test]
async fn the_sixth_wrong_password_is_refused_even_with_the_right_one_in_every_process() {
    let t = TestDb::new().await;
    auth::create_user(
        t.db.conn(),
        "kim@example.com",
        "right password",
        Role::Customer,
        now(),
    )
    .await
    .unwrap();
    let other = t.another_process().await;
    let at = now();
    // Five wrong guesses, split across two server processes.
    for i in 0..5 {
        let db = if i % 2 == 0 { &t.db } else { &other };
        let wrong = auth::sign_in(db.conn(), "kim@example.com", "guess", "10.0.0.1", at).await;
        assert!(
            matches!(wrong, Err(AuthError::BadCredentials)),
            "{i}: {wrong:?}"
        );
    }
    for db in [&t.db, &other] {
        let refused = auth::sign_in(
            db.conn(),
            "Kim@Example.com",
            "right password",
            "10.0.0.2",
            at,
        )
        .await;
        let Err(AuthError::Throttled(wait)) = refused else {
            panic!("the sixth attempt must be refused: {refused:?}");
        };
        assert_eq!(wait.minutes(), 15);
        assert_eq!(
            AuthError::Throttled(wait).to_string(),
            "Too many attempts, try again in 15 minutes."
        );
    }
    // The window passes: the right password works, and clears the count.
    let later = at + Duration::minutes(15) + Duration::seconds(1);
    let ok = auth::sign_in(
        t.db.conn(),
        "kim@example.com",
        "right password",
        "10.0.0.1",
        later,
    )
    .await
    .unwrap();
    assert_eq!(ok.email, "kim@example.com");
    let wrong = auth::sign_in(t.db.conn(), "kim@example.com", "guess", "10.0.0.1", later).await;
    assert!(matches!(wrong, Err(AuthError::BadCredentials)));
}

#[tokio::test]
async fn an_unknown_email_is_throttled_exactly_like_a_known_one() {
    let t = TestDb::new().await;
    auth::create_user(
        t.db.conn(),
        "known@example.com",
        "right password",
        Role::Customer,
        now(),
    )
    .await
    .unwrap();
    let at = now();
    let mut answers = Vec::new();
    for email in ["known@example.com", "ghost@example.com"] {
        let mut seen = Vec::new();
        for _ in 0..7 {
            let r = auth::sign_in(t.db.conn(), email, "guess", &format!("ip-{email}"), at).await;
            seen.push(r.map(|_| ()).map_err(|e| e.to_string()));
        }
        answers.push(seen);
    }
    assert_eq!(
        answers[0], answers[1],
        "the same answers, so nobody learns who exists"
    );
    assert_eq!(
        answers[0][5],
        Err("Too many attempts, try again in 15 minutes.".to_owned())
    );
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_throttled_by_its_address() {
    let t = TestDb::new().await;
    let at = now();
    for i in 0..20 {
        let email = format!("user{i}@example.com");
        let r = auth::sign_in(t.db.conn(), &email, "guess", "192.0.2.9", at).await;
        assert!(matches!(r, Err(AuthError::BadCredentials)), "{i}");
    }
    let r = auth::sign_in(t.db.conn(), "fresh@example.com", "guess", "192.0.2.9", at).await;
    assert!(matches!(r, Err(AuthError::Throttled(_))), "{r:?}");
    let elsewhere =
        auth::sign_in(t.db.conn(), "fresh@example.com", "guess", "192.0.2.10", at).await;
    assert!(matches!(elsewhere, Err(AuthError::BadCredentials)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_concurrent_guesses_gets_no_more_tries_than_one_at_a_time() {
    let t = TestDb::new().await;
    auth::create_user(
        t.db.conn(),
        "burst@example.com",
        "right password",
        Role::Customer,
        now(),
    )
    .await
    .unwrap();
    let at = now();
    let mut guesses = Vec::new();
    for i in 0..32 {
        let db = t.db.clone();
        guesses.push(tokio::spawn(async move {
            auth::sign_in(
                db.conn(),
                "burst@example.com",
                "guess",
                &format!("10.1.0.{i}"),
                at,
            )
            .await
        }));
    }
    let (mut checked, mut throttled) = (0, 0);
    for g in guesses {
        match g.await.unwrap() {
            Err(AuthError::BadCredentials) => checked += 1,
            Err(AuthError::Throttled(_)) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(checked <= 5, "{checked} passwords were checked");
    assert_eq!(checked + throttled, 32);
    // The window holds exactly the failures that were checked: with five, even the
    // right password waits; with fewer (refused ones are taken back), it gets in.
    let right = auth::sign_in(
        t.db.conn(),
        "burst@example.com",
        "right password",
        "10.2.0.1",
        at,
    )
    .await;
    if checked == 5 {
        assert!(matches!(right, Err(AuthError::Throttled(_))), "{right:?}");
    } else {
        assert!(right.is_ok(), "{checked} checked: {right:?}");
    }
}

/// A signed-in request's one read (`account::user_and_account`): nobody for an id that
/// names no one, an operator alone, a customer with their account and the same figures
/// the header's own read gives.
#[tokio::test]
async fn a_user_is_read_with_their_account_and_its_standing() {
    use app::domain::account;
    use app::model::money::Currency;
    let t = TestDb::new().await;
    let conn = t.db.conn();
    assert!(
        account::user_and_account(conn, 987_654)
            .await
            .unwrap()
            .is_none()
    );
    let operator = auth::create_user(conn, "op@example.com", "long enough", Role::Operator, now())
        .await
        .unwrap();
    let (user, held) = account::user_and_account(conn, operator.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user, operator);
    assert!(held.is_none(), "an operator has no account");
    let id = support::customer(&t.db, "pat@example.com", Currency::Jpy).await;
    let owner = account::of_email(conn, "pat@example.com")
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let (user, held) = account::user_and_account(conn, owner)
        .await
        .unwrap()
        .unwrap();
    let held = held.unwrap();
    assert_eq!(
        (user.email.as_str(), held.account.id.as_str(), held.currency),
        ("pat@example.com", id.as_str(), Currency::Jpy)
    );
    assert_eq!(
        held.standing,
        account::standing(conn, &id, Currency::Jpy).await.unwrap()
    );
}

/// A request's first read (`Asker::read`): the session row, its user and their account
/// in one statement where the row names its user in its `user_id` column; a row saved
/// before that column existed is read as before, to the same answer; a signed-out,
/// expired or unknown session is nobody; a session last seen on another day is marked
/// seen, as `auth::signed_in` marks it.
#[tokio::test]
async fn a_request_reads_its_session_user_and_account_together() {
    use app::api::server::Asker;
    use app::domain::account;
    use app::domain::entities::session;
    use app::model::money::Currency;
    use sea_orm::{EntityTrait, sea_query::Expr};
    use std::sync::Arc;
    use tower_sessions::Session;
    let t = TestDb::new().await;
    let account_id = support::customer(&t.db, "joined@example.com", Currency::Vnd).await;
    let owner = account::of_email(t.db.conn(), "joined@example.com")
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let store = Arc::new(DbSessionStore::new(t.db.clone()));
    let signed_in = |seen: &str, expires_in: time::Duration| Record {
        id: Id::default(),
        data: [
            (auth::SESSION_USER_KEY.to_owned(), serde_json::json!(owner)),
            (auth::SESSION_SEEN_KEY.to_owned(), serde_json::json!(seen)),
        ]
        .into_iter()
        .collect(),
        expiry_date: time::OffsetDateTime::now_utc() + expires_in,
    };
    let read = |id: Option<Id>| {
        let visit = Session::new(id, store.clone(), None);
        let db = t.db.clone();
        async move {
            let asker = Asker::read(&db, &visit).await.unwrap();
            let found = asker.user().map(|u| u.id);
            let account = asker.account().map(|a| a.account.id.clone());
            (found, account, visit.is_modified())
        }
    };
    let today = now().date_naive().to_string();
    let mut record = signed_in(&today, time::Duration::hours(1));
    store.create(&mut record).await.unwrap();
    let (loaded, joined) = store.load_with_user(&record.id).await.unwrap().unwrap();
    assert_eq!(loaded.data, record.data);
    let (user, held) = joined.unwrap();
    assert_eq!(
        (user.id, held.map(|h| h.account.id)),
        (owner, Some(account_id.clone()))
    );
    let want = (Some(owner), Some(account_id.clone()), false);
    assert_eq!(
        read(Some(record.id)).await,
        want,
        "seen today: nothing to write"
    );

    // A row saved before the column existed: the same answer, the way it was read before.
    session::Entity::update_many()
        .col_expr(session::Column::UserId, Expr::value(Option::<i64>::None))
        .exec(t.db.conn())
        .await
        .unwrap();
    let (_, joined) = store.load_with_user(&record.id).await.unwrap().unwrap();
    assert!(joined.is_none());
    assert_eq!(read(Some(record.id)).await, want);

    // Last seen on another day: marked seen (saved once, at the response).
    let mut yesterday = signed_in("2026-01-01", time::Duration::hours(1));
    store.create(&mut yesterday).await.unwrap();
    assert_eq!(
        read(Some(yesterday.id)).await,
        (Some(owner), Some(account_id), true)
    );

    // Signed out (no user in the data), expired, unknown, or no cookie: nobody.
    let mut signed_out = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    store.create(&mut signed_out).await.unwrap();
    let mut expired = signed_in(&today, -time::Duration::minutes(1));
    store.create(&mut expired).await.unwrap();
    for id in [
        Some(signed_out.id),
        Some(expired.id),
        Some(Id::default()),
        None,
    ] {
        assert_eq!(read(id).await, (None, None, false), "{id:?}");
    }
}
