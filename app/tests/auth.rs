//! Sign-in and the database session store, on SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

mod support;

use app::domain::auth::{self, AuthError};
use app::domain::db::now;
use app::domain::session_store::DbSessionStore;
use app::model::session::Role;
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
