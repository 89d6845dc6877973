//! The console's API keys ("Manage API keys"): the metering services' keys listed
//! (never the keys themselves), a new one shown once, revoking one.

use crate::model::error::AppError;
use crate::model::operator::{ApiKeyForm, ApiKeyLine, CreatedApiKey};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// Every key, newest first.
#[server(prefix = "/rpc", endpoint = "api_keys")]
pub async fn api_keys() -> Result<Vec<ApiKeyLine>, AppError> {
    use crate::domain::api_key::{self, Scope};
    use crate::domain::settings::LocalTime;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ManageApiKeys).await?;
    let dates = LocalTime::of(&staff.user);
    let rows = api_key::list(call.db.conn())
        .await
        .map_err(server::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let scope = Scope::of(&row);
            let limits = scope
                .max_charges
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            ApiKeyLine {
                id: row.id,
                services: scope
                    .services
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join(", "),
                limits: if limits.is_empty() {
                    "No limit".into()
                } else {
                    limits
                },
                created: dates.date_minute(row.created_at),
                revoked: row.revoked_at.map(|r| dates.date_minute(r)),
                name: row.name,
            }
        })
        .collect())
}

/// Creates a key; it is shown in the answer and never again.
#[server(prefix = "/rpc", endpoint = "create_api_key")]
pub async fn create_api_key(form: ApiKeyForm) -> Result<CreatedApiKey, AppError> {
    use crate::domain::api_key::{self, Scope};
    use crate::domain::audit::Actor;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ManageApiKeys).await?;
    let spec = form.validate().map_err(AppError::Fields)?;
    let scope = Scope {
        services: spec.services,
        max_charges: spec.max_charges,
    };
    let (row, key) = api_key::issue(
        &call.db,
        &spec.name,
        &scope,
        &Actor::user(&staff.user),
        crate::domain::db::now(),
    )
    .await
    .map_err(server::internal)?;
    Ok(CreatedApiKey {
        id: row.id,
        name: row.name,
        key,
    })
}

/// Revokes a key: the usage API refuses it from now on.
#[server(prefix = "/rpc", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    use crate::domain::api_key;
    use crate::domain::audit::Actor;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ManageApiKeys).await?;
    let found = api_key::revoke(
        &call.db,
        id,
        &Actor::user(&staff.user),
        crate::domain::db::now(),
    )
    .await
    .map_err(server::internal)?;
    if found {
        Ok(())
    } else {
        Err(AppError::NotFound(
            "There is no API key with this id.".into(),
        ))
    }
}
