//! Sessions live in the database, so several server processes share them. The session
//! machinery (cookie, id rotation, expiry) is `tower-sessions`; this is only its store.
//! Rows are keyed by the SHA-256 of the session id: a leaked table holds no usable ids.

use super::account;
use super::auth::SESSION_USER_KEY;
use super::db::Db;
use super::entities::{session, user};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr,
};
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// A `tower-sessions` store on the billing database.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// A store on this connection pool.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Deletes sessions past their expiry; returns how many.
    pub async fn delete_expired(&self) -> std::result::Result<u64, DbErr> {
        let txn = self.db.write().await?;
        let done = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lt(Utc::now()))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        Ok(done.rows_affected)
    }
}

fn key(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

fn backend(e: DbErr) -> Error {
    Error::Backend(e.to_string())
}

fn row(record: &Record) -> Result<session::ActiveModel> {
    let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    Ok(session::ActiveModel {
        id: Set(key(&record.id)),
        data: Set(data),
        expires_at: Set(to_chrono(record.expiry_date)),
        user_id: Set(record
            .data
            .get(SESSION_USER_KEY)
            .and_then(serde_json::Value::as_i64)),
    })
}

/// The session `id` as a row stored it.
fn record(id: &Id, data: &str, expires_at: DateTime<Utc>) -> Result<Record> {
    let data = serde_json::from_str(data).map_err(|e| Error::Decode(e.to_string()))?;
    let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires_at.timestamp())
        .map_err(|e| Error::Decode(e.to_string()))?;
    Ok(Record {
        id: *id,
        data,
        expiry_date,
    })
}

/// A live session as `load_with_user` read it: its record, and the user its row's
/// `user_id` names with their account (`None`: the row names no user that exists).
pub type SessionWithUser = (
    Record,
    Option<(user::Model, Option<account::AccountAndStanding>)>,
);

impl DbSessionStore {
    /// `load`, and in the same statement the user the row's `user_id` column names,
    /// their account and its figures (`account::with_user_and_account`): what every
    /// signed-in request reads first (`api::server::Asker`), in one round trip instead
    /// of two.
    pub async fn load_with_user(&self, id: &Id) -> Result<Option<SessionWithUser>> {
        use sea_orm::sea_query::{Expr, ExprTrait, Query};
        let mut query = Query::select();
        query
            .column((session::Entity, session::Column::Data))
            .column((session::Entity, session::Column::ExpiresAt))
            .from(session::Entity)
            .left_join(
                user::Entity,
                Expr::col((user::Entity, user::Column::Id))
                    .equals((session::Entity, session::Column::UserId)),
            )
            .and_where(Expr::col((session::Entity, session::Column::Id)).eq(key(id)))
            .and_where(Expr::col((session::Entity, session::Column::ExpiresAt)).gt(Utc::now()));
        account::with_user_and_account(&mut query);
        let Some(row) = self.db.conn().query_one(&query).await.map_err(backend)? else {
            return Ok(None);
        };
        let data: String = row.try_get("", "data").map_err(backend)?;
        let expires_at: DateTime<Utc> = row.try_get("", "expires_at").map_err(backend)?;
        let joined = account::user_and_account_of_row(&row).map_err(backend)?;
        Ok(Some((record(id, &data, expires_at)?, joined)))
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A collision of 128-bit random ids is all but impossible; if it happens, draw again
        // rather than overwrite someone else's session.
        loop {
            let txn = self.db.write().await.map_err(backend)?;
            match session::Entity::insert(row(record)?).exec(&*txn).await {
                Ok(_) => return txn.commit().await.map_err(backend),
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    record.id = Id::default();
                }
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let txn = self.db.write().await.map_err(backend)?;
        session::Entity::insert(row(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([
                        session::Column::Data,
                        session::Column::ExpiresAt,
                        session::Column::UserId,
                    ])
                    .to_owned(),
            )
            .exec(&*txn)
            .await
            .map_err(backend)?;
        txn.commit().await.map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(found) = session::Entity::find_by_id(key(id))
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(self.db.conn())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        record(id, &found.data, found.expires_at).map(Some)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let txn = self.db.write().await.map_err(backend)?;
        session::Entity::delete_by_id(key(id))
            .exec(&*txn)
            .await
            .map_err(backend)?;
        txn.commit().await.map_err(backend)
    }
}
