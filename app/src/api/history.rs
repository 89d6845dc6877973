//! Credit History: a page of the customer's rows and how many match.

use crate::model::error::AppError;
use crate::model::history::{HistoryPage, Matches};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;

/// One page of the signed-in customer's Credit History. `query` is the page's URL query
/// string (the filter lives in the URL); the account comes from the session.
#[server(prefix = "/rpc", endpoint = "credit_history")]
pub async fn credit_history(query: String) -> Result<HistoryPage, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    let filter = HistoryFilter::from_query_string(&query);
    let dates = crate::domain::settings::LocalTime::of(&user);
    history::page(call.db.conn(), &account.id, currency, dates, &filter)
        .await
        .map_err(server::history_error)
}

/// How many rows of the signed-in customer's Credit History match the filter.
#[server(prefix = "/rpc", endpoint = "credit_history_count")]
pub async fn credit_history_count(query: String) -> Result<Matches, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let (user, account, _) = call.require_account().await?;
    let filter = HistoryFilter::from_query_string(&query);
    let tz = history::time_zone(&user.time_zone);
    call.db
        .counts_past_limit()
        .count(call.db.conn(), &account.id, &filter, tz)
        .await
        .map_err(server::history_error)
}
