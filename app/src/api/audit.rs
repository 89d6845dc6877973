//! The audit log, overall or per account, with filters ("View accounts").

use crate::model::error::AppError;
use crate::model::operator::{AuditFilter, AuditPage};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// A page of the audit log, newest first.
#[server(prefix = "/rpc", endpoint = "audit_log")]
pub async fn audit_log(filter: AuditFilter) -> Result<AuditPage, AppError> {
    use crate::domain::audit;
    use crate::domain::settings::LocalTime;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ViewAccounts).await?;
    if [&filter.account_id, &filter.action, &filter.actor]
        .iter()
        .any(|f| f.chars().count() > 200)
    {
        return Err(AppError::Invalid {
            field: "filter".into(),
            problem: crate::model::problem::Problem::Worded(
                "A filter is at most 200 characters.".into(),
            ),
        });
    }
    audit::page(call.db.conn(), &filter, LocalTime::of(&staff.user))
        .await
        .map_err(server::internal)
}

/// The actions the log's filter offers.
#[server(prefix = "/rpc", endpoint = "audit_actions")]
pub async fn audit_actions() -> Result<Vec<String>, AppError> {
    use crate::domain::audit;
    let call = server::Call::begin().await?;
    call.require_capability(Capability::ViewAccounts).await?;
    audit::actions(call.db.conn())
        .await
        .map_err(server::internal)
}
