//! Operators' capabilities: which console pages and functions each operator may use.
//! Granted and revoked from the command line (`server grant`, `server revoke`), each
//! change in the audit log. Nothing is implied: an operator without a capability is
//! refused whatever else they hold.

use super::audit::{self, Actor, Entry};
use super::entities::{operator_capability, user};
use crate::model::operator::Capability;
use crate::model::session::Role;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;

/// Why capabilities were not changed.
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    #[error("no user has the email {0}")]
    NoSuchUser(String),
    #[error("{0} is a customer; only operators hold capabilities")]
    NotAnOperator(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The capabilities a user holds (none for a customer), in a stable order.
pub async fn of_user<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<Vec<Capability>, DbErr> {
    let names: Vec<String> = operator_capability::Entity::find()
        .filter(operator_capability::Column::UserId.eq(user_id))
        .order_by_asc(operator_capability::Column::Capability)
        .all(conn)
        .await?
        .into_iter()
        .map(|row| row.capability)
        .collect();
    // An unknown name (from a newer version, say) grants nothing.
    let mut held: Vec<Capability> = names.iter().filter_map(|n| Capability::parse(n)).collect();
    held.sort();
    Ok(held)
}

/// Gives `capabilities` to the operator with `email`; ones already held stay. Returns
/// what they hold afterwards.
pub async fn grant(
    txn: &DatabaseTransaction,
    email: &str,
    capabilities: &[Capability],
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<Vec<Capability>, CapabilityError> {
    change(txn, email, capabilities, true, actor, at).await
}

/// Takes `capabilities` from the operator with `email`. Returns what they hold after.
pub async fn revoke(
    txn: &DatabaseTransaction,
    email: &str,
    capabilities: &[Capability],
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<Vec<Capability>, CapabilityError> {
    change(txn, email, capabilities, false, actor, at).await
}

async fn change(
    txn: &DatabaseTransaction,
    email: &str,
    capabilities: &[Capability],
    give: bool,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<Vec<Capability>, CapabilityError> {
    let operator = user::Entity::find()
        .filter(user::Column::Email.eq(super::auth::normalize_email(email)))
        .one(txn)
        .await?
        .ok_or_else(|| CapabilityError::NoSuchUser(email.to_owned()))?;
    if Role::parse(&operator.role) != Some(Role::Operator) {
        return Err(CapabilityError::NotAnOperator(operator.email));
    }
    let before = of_user(txn, operator.id).await?;
    for capability in capabilities {
        let held = before.contains(capability);
        if give && !held {
            operator_capability::Entity::insert(operator_capability::ActiveModel {
                user_id: Set(operator.id),
                capability: Set(capability.as_str().to_owned()),
                granted_by: Set(match actor {
                    Actor::User { id, .. } => Some(*id),
                    _ => None,
                }),
                granted_at: Set(at),
            })
            .exec_without_returning(txn)
            .await?;
        } else if !give && held {
            operator_capability::Entity::delete_many()
                .filter(operator_capability::Column::UserId.eq(operator.id))
                .filter(operator_capability::Column::Capability.eq(capability.as_str()))
                .exec(txn)
                .await?;
        }
    }
    let after = of_user(txn, operator.id).await?;
    if after != before {
        let names = |caps: &[Capability]| caps.iter().map(|c| c.as_str()).collect::<Vec<_>>();
        audit::append(
            txn,
            &Entry {
                actor,
                action: if give {
                    "capability.granted"
                } else {
                    "capability.revoked"
                },
                account_id: None,
                subject: format!("user:{} {}", operator.id, operator.email),
                before: json!({ "capabilities": names(&before) }),
                after: json!({ "capabilities": names(&after) }),
                reason: "",
            },
            at,
        )
        .await?;
    }
    Ok(after)
}
