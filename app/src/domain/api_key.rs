//! API keys for metering services. Created by an operator, shown once, stored as
//! SHA-256 (keys are long random strings, so a fast hash is enough and lets us look a
//! key up by its hash).

use super::entities::api_key;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};
use sha2::{Digest, Sha256};

fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// 256 random bits, hex-encoded: for keys and made-up secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates a key with 256 random bits; returns the row and the key, which is not
/// stored and cannot be shown again.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    at: DateTime<Utc>,
) -> Result<(api_key::Model, String), DbErr> {
    let key = format!("bk_{}", random_token());
    let row = create_with_key(conn, name, &key, at).await?;
    Ok((row, key))
}

/// Stores a key chosen by the caller (the demo data's fixed `demo-metering-key`).
pub async fn create_with_key<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    key: &str,
    at: DateTime<Utc>,
) -> Result<api_key::Model, DbErr> {
    api_key::ActiveModel {
        name: Set(name.to_owned()),
        key_hash: Set(hash(key)),
        created_at: Set(at),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// The live key matching a presented one, if any.
pub async fn authenticate<C: ConnectionTrait>(
    conn: &C,
    presented: &str,
) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(conn)
        .await
}
