//! API keys for metering services. Created by an operator, shown once, stored as
//! SHA-256 (keys are long random strings, so a fast hash is enough and lets us look a
//! key up by its hash). Each key is scoped: the services it may charge, and optionally
//! the largest single charge per currency (a key with maxima cannot charge a currency
//! it has none for).

use super::entities::api_key;
use crate::model::ledger::Service;
use crate::model::money::{Currency, Money};
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

/// What a key may charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub services: Vec<Service>,
    /// The largest single charge, per currency; empty for no maximum.
    pub max_charges: Vec<Money>,
}

/// Why a key may not make a charge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("this API key may not charge {0}; it may charge {1}")]
    Service(&'static str, String),
    #[error("this API key may charge at most {0} at once")]
    OverMaximum(Money),
    #[error("this API key has no charge limit in {0}, so it may not charge {0} accounts")]
    Currency(Currency),
}

impl Scope {
    /// Every usage service, no maximum.
    pub fn all() -> Scope {
        Scope {
            services: Service::USAGE.to_vec(),
            max_charges: Vec::new(),
        }
    }

    /// The stored form: `model_fine_tuning,gpu_container` and `VND:5000000,USD:20000`.
    pub fn to_stored(&self) -> (String, Option<String>) {
        let services = self
            .services
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let max = (!self.max_charges.is_empty()).then(|| {
            self.max_charges
                .iter()
                .map(|m| format!("{}:{}", m.currency().code(), m.to_minor().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(",")
        });
        (services, max)
    }

    /// Reads the stored form; unreadable parts grant nothing (fail closed).
    pub fn from_stored(services: &str, max_charges: Option<&str>) -> Scope {
        Scope {
            services: services
                .split(',')
                .filter_map(|s| Service::parse(s.trim()).filter(|s| s.is_usage()))
                .collect(),
            max_charges: max_charges
                .unwrap_or_default()
                .split(',')
                .filter(|part| !part.trim().is_empty())
                .map(|part| {
                    let (code, minor) = part.split_once(':').unwrap_or((part, "0"));
                    match (
                        Currency::from_code(code.trim()),
                        minor.trim().parse::<i64>(),
                    ) {
                        (Some(c), Ok(m)) => Money::from_minor(m, c),
                        // A limit we cannot read allows nothing in its currency.
                        (Some(c), Err(_)) => Money::zero(c),
                        (None, _) => Money::zero(Currency::Vnd),
                    }
                })
                .collect(),
        }
    }

    /// The scope of a stored key.
    pub fn of(key: &api_key::Model) -> Scope {
        Scope::from_stored(&key.services, key.max_charges.as_deref())
    }

    /// Whether this key may charge `amount` for `service`.
    pub fn allows(&self, service: Service, amount: Money) -> Result<(), ScopeError> {
        if !self.services.contains(&service) {
            let allowed = self
                .services
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ScopeError::Service(
                service.as_str(),
                if allowed.is_empty() {
                    "nothing".into()
                } else {
                    allowed
                },
            ));
        }
        if self.max_charges.is_empty() {
            return Ok(());
        }
        match self
            .max_charges
            .iter()
            .find(|m| m.currency() == amount.currency())
        {
            None => Err(ScopeError::Currency(amount.currency())),
            Some(max) if amount.amount() > max.amount() => Err(ScopeError::OverMaximum(*max)),
            Some(_) => Ok(()),
        }
    }
}

/// Creates a key with 256 random bits; returns the row and the key, which is not
/// stored and cannot be shown again.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    scope: &Scope,
    at: DateTime<Utc>,
) -> Result<(api_key::Model, String), DbErr> {
    let key = format!("bk_{}", random_token());
    let row = create_with_key(conn, name, &key, scope, at).await?;
    Ok((row, key))
}

/// Stores a key chosen by the caller (the demo data's fixed `demo-metering-key`).
pub async fn create_with_key<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    key: &str,
    scope: &Scope,
    at: DateTime<Utc>,
) -> Result<api_key::Model, DbErr> {
    let (services, max_charges) = scope.to_stored();
    api_key::ActiveModel {
        name: Set(name.to_owned()),
        key_hash: Set(hash(key)),
        created_at: Set(at),
        revoked_at: Set(None),
        services: Set(services),
        max_charges: Set(max_charges),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// Creates a key for the console or the command line, with its audit entry, in one
/// transaction. The key is returned this once.
pub async fn issue(
    db: &super::db::Db,
    name: &str,
    scope: &Scope,
    actor: &super::audit::Actor,
    at: DateTime<Utc>,
) -> Result<(api_key::Model, String), DbErr> {
    let txn = db.write().await?;
    let (row, key) = create(&*txn, name, scope, at).await?;
    super::audit::append(
        &txn,
        &super::audit::Entry {
            actor,
            action: "api_key.created",
            account_id: None,
            subject: format!("api_key:{} {}", row.id, row.name),
            before: serde_json::json!({}),
            after: serde_json::json!({ "services": row.services, "max_charges": row.max_charges }),
            reason: "",
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok((row, key))
}

/// Revokes a key: the usage API refuses it from now on. Returns false when there is
/// no such key; revoking twice changes nothing.
pub async fn revoke(
    db: &super::db::Db,
    id: i64,
    actor: &super::audit::Actor,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let txn = db.write().await?;
    let Some(row) = api_key::Entity::find_by_id(id).one(&*txn).await? else {
        return Ok(false);
    };
    if row.revoked_at.is_some() {
        return Ok(true);
    }
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(at))
        .filter(api_key::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    super::audit::append(
        &txn,
        &super::audit::Entry {
            actor,
            action: "api_key.revoked",
            account_id: None,
            subject: format!("api_key:{} {}", row.id, row.name),
            before: serde_json::json!({ "revoked": false }),
            after: serde_json::json!({ "revoked": true }),
            reason: "",
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Every key, newest first.
pub async fn list<C: ConnectionTrait>(conn: &C) -> Result<Vec<api_key::Model>, DbErr> {
    use sea_orm::QueryOrder;
    api_key::Entity::find()
        .order_by_desc(api_key::Column::Id)
        .all(conn)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_round_trips_and_fails_closed() {
        let scope = Scope {
            services: vec![Service::GpuContainer, Service::AiInference],
            max_charges: vec![
                Money::from_minor(5_000_000, Currency::Vnd),
                Money::from_minor(20_000, Currency::Usd),
            ],
        };
        let (services, max) = scope.to_stored();
        assert_eq!(services, "gpu_container,ai_inference");
        assert_eq!(max.as_deref(), Some("VND:5000000,USD:20000"));
        assert_eq!(Scope::from_stored(&services, max.as_deref()), scope);
        let vnd = |n| Money::from_minor(n, Currency::Vnd);
        assert!(scope.allows(Service::AiInference, vnd(5_000_000)).is_ok());
        assert_eq!(
            scope.allows(Service::AiInference, vnd(5_000_001)),
            Err(ScopeError::OverMaximum(vnd(5_000_000)))
        );
        assert!(matches!(
            scope.allows(Service::ModelFineTuning, vnd(1)),
            Err(ScopeError::Service(..))
        ));
        assert_eq!(
            scope.allows(Service::AiInference, Money::from_minor(1, Currency::Jpy)),
            Err(ScopeError::Currency(Currency::Jpy))
        );
        // Unreadable stored parts grant nothing.
        let broken = Scope::from_stored("bogus", Some("VND:lots"));
        assert!(broken.allows(Service::AiInference, vnd(1)).is_err());
        assert!(
            Scope::all()
                .allows(Service::ModelFineTuning, vnd(1))
                .is_ok()
        );
    }
}
