//! The console's account lookup and account view: search, the account's page, and its
//! Credit History and Payment History as the customer sees them. Each needs the
//! "View accounts" capability.

use crate::model::error::AppError;
use crate::model::history::{HistoryPage, Matches};
use crate::model::operator::{AccountView, LookupResult};
use crate::model::top_up::PaymentPage;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// Accounts whose email, id, payment reference (ours or the gateway's), redeemed voucher
/// code or tax code equals `query`.
#[server(prefix = "/rpc", endpoint = "search_accounts")]
pub async fn search_accounts(query: String) -> Result<LookupResult, AppError> {
    use crate::domain::lookup;
    use crate::model::operator::MAX_LOOKUP_CHARS;
    let call = server::Call::begin().await?;
    call.require_capability(Capability::ViewAccounts).await?;
    let query = query.trim();
    if query.is_empty() {
        return Err(AppError::Invalid {
            field: "query".into(),
            problem: crate::model::problem::Problem::Worded(
                "Enter an email, account id, payment reference, voucher code or tax code.".into(),
            ),
        });
    }
    if query.chars().count() > MAX_LOOKUP_CHARS {
        return Err(AppError::Invalid {
            field: "query".into(),
            problem: crate::model::problem::Problem::Worded(format!(
                "A search is at most {MAX_LOOKUP_CHARS} characters."
            )),
        });
    }
    lookup::search(call.db.conn(), query)
        .await
        .map_err(server::internal)
}

/// One account's page: profile, plan, balances, voucher grants, adjustments.
#[server(prefix = "/rpc", endpoint = "account_view")]
pub async fn get_account_view(account_id: String) -> Result<AccountView, AppError> {
    use crate::domain::lookup;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ViewAccounts).await?;
    let thresholds = call.thresholds();
    lookup::account_view(
        &call.db,
        account_id.trim(),
        &staff.user,
        staff.may(Capability::ApproveAdjustments),
        |c| thresholds.of(c),
        crate::domain::db::now(),
    )
    .await
    .map_err(server::internal)?
    .ok_or_else(|| AppError::NotFound("There is no account with this id.".into()))
}

/// A page of an account's Credit History, filtered as the customer's is.
#[server(prefix = "/rpc", endpoint = "account_credit_history")]
pub async fn account_credit_history(
    account_id: String,
    query: String,
) -> Result<HistoryPage, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ViewAccounts).await?;
    let (account, currency) = server::account_by_id(&call, &account_id).await?;
    let filter = HistoryFilter::from_query_string(&query);
    let dates = crate::domain::settings::LocalTime::of(&staff.user);
    history::page(call.db.conn(), &account.id, currency, dates, &filter)
        .await
        .map_err(server::history_error)
}

/// How many rows of an account's Credit History match the filter.
#[server(prefix = "/rpc", endpoint = "account_credit_history_count")]
pub async fn account_credit_history_count(
    account_id: String,
    query: String,
) -> Result<Matches, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ViewAccounts).await?;
    let (account, _) = server::account_by_id(&call, &account_id).await?;
    let filter = HistoryFilter::from_query_string(&query);
    let tz = history::time_zone(&staff.user.time_zone);
    call.db
        .counts_past_limit()
        .count(call.db.conn(), &account.id, &filter, tz)
        .await
        .map_err(server::history_error)
}

/// A page of an account's Payment History.
#[server(prefix = "/rpc", endpoint = "account_payment_history")]
pub async fn account_payment_history(
    account_id: String,
    query: String,
) -> Result<PaymentPage, AppError> {
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ViewAccounts).await?;
    let (account, currency) = server::account_by_id(&call, &account_id).await?;
    server::payment_page(&call, &staff.user, &account.id, currency, &query).await
}
