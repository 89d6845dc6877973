//! Server functions: the browser's only way into the domain. Each is thin: it takes the
//! user from the session (never from an argument), calls the domain, and maps errors to
//! [`AppError`] without leaking internals.

use crate::model::error::AppError;
use crate::model::history::HistoryPage;
use crate::model::session::Viewer;
use leptos::prelude::*;

/// The signed-in user and their balances, or `None` when nobody is signed in.
#[server(prefix = "/rpc", endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    use crate::domain::{account, ledger};
    let Some(user) = server::signed_in_user().await? else {
        return Ok(None);
    };
    let db = server::db()?;
    let balances = match account::of_user(db.conn(), user.id)
        .await
        .map_err(server::internal)?
    {
        Some(acct) => {
            let currency = account::currency(&acct).map_err(server::internal)?;
            Some(
                ledger::balances(db.conn(), &acct.id, currency)
                    .await
                    .map_err(server::internal)?,
            )
        }
        None => None,
    };
    Ok(Some(Viewer {
        email: user.email,
        role: server::role(&user.role)?,
        balances,
    }))
}

/// Signs in with email and password, then goes to the billing page. A new session id is
/// issued, so a session id planted before sign-in is worthless after it.
#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    use crate::domain::auth::{self, AuthError};
    if email.trim().is_empty() {
        return Err(AppError::Invalid {
            field: "email".into(),
            message: "Enter your email.".into(),
        });
    }
    if password.is_empty() {
        return Err(AppError::Invalid {
            field: "password".into(),
            message: "Enter your password.".into(),
        });
    }
    let db = server::db()?;
    let user = match auth::verify_credentials(db.conn(), &email, &password).await {
        Ok(user) => user,
        Err(AuthError::BadCredentials) => return Err(AppError::BadCredentials),
        Err(e) => return Err(server::internal(e)),
    };
    let session = server::session().await?;
    session.cycle_id().await.map_err(server::internal)?;
    session
        .insert(auth::SESSION_USER_KEY, user.id)
        .await
        .map_err(server::internal)?;
    leptos_axum::redirect("/billing");
    Ok(())
}

/// Ends the session on the server and returns to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let session = server::session().await?;
    session.flush().await.map_err(server::internal)?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// One page of the signed-in customer's Credit History. `query` is the page's URL query
/// string (the filter lives in the URL); the account comes from the session.
#[server(prefix = "/rpc", endpoint = "credit_history")]
pub async fn credit_history(query: String) -> Result<HistoryPage, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let (user, account, currency) = server::require_account().await?;
    let filter = HistoryFilter::from_query_string(&query);
    let db = server::db()?;
    history::page(
        db.conn(),
        &account.id,
        currency,
        history::time_zone(&user.time_zone),
        &filter,
    )
    .await
    .map_err(server::history_error)
}

/// How many rows of the signed-in customer's Credit History match the filter.
#[server(prefix = "/rpc", endpoint = "credit_history_count")]
pub async fn credit_history_count(query: String) -> Result<u64, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let (user, account, _) = server::require_account().await?;
    let filter = HistoryFilter::from_query_string(&query);
    let db = server::db()?;
    history::count(
        db.conn(),
        &account.id,
        &filter,
        history::time_zone(&user.time_zone),
    )
    .await
    .map_err(server::history_error)
}

/// Helpers only the server functions use.
#[cfg(feature = "ssr")]
pub mod server {
    use crate::domain::db::Db;
    use crate::domain::entities::{account as account_row, user};
    use crate::domain::history::HistoryError;
    use crate::domain::{account, auth};
    use crate::model::error::AppError;
    use crate::model::money::Currency;
    use crate::model::session::Role;
    use leptos::prelude::use_context;
    use tower_sessions::Session;

    /// Logs an internal failure and returns the message-free error the browser sees.
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "server function failed");
        AppError::Internal
    }

    /// The database, provided by the server when it builds the routes.
    pub fn db() -> Result<Db, AppError> {
        use_context::<Db>().ok_or_else(|| internal("no database in context"))
    }

    /// The request's session.
    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(internal)
    }

    /// The signed-in user, if the session names one that still exists.
    pub async fn signed_in_user() -> Result<Option<user::Model>, AppError> {
        let session = session().await?;
        let Some(id) = session
            .get::<i64>(auth::SESSION_USER_KEY)
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        auth::find_by_id(db()?.conn(), id).await.map_err(internal)
    }

    /// The signed-in user, or `SignInRequired`.
    pub async fn require_user() -> Result<user::Model, AppError> {
        signed_in_user().await?.ok_or(AppError::SignInRequired)
    }

    /// The signed-in customer with their account and its currency.
    pub async fn require_account() -> Result<(user::Model, account_row::Model, Currency), AppError>
    {
        let user = require_user().await?;
        match account::with_currency(db()?.conn(), user.id)
            .await
            .map_err(internal)?
        {
            Some((acct, currency)) => Ok((user, acct, currency)),
            None => Err(AppError::NoBillingProfile),
        }
    }

    /// A refused history query, in words for the person who made it.
    pub fn history_error(e: HistoryError) -> AppError {
        match e {
            HistoryError::Filter(f) => AppError::Invalid {
                field: "filter".into(),
                message: f.to_string(),
            },
            HistoryError::BadCursor => AppError::Invalid {
                field: "page".into(),
                message: e.to_string(),
            },
            HistoryError::Db(e) => internal(e),
        }
    }

    /// A stored role name as a [`Role`].
    pub fn role(name: &str) -> Result<Role, AppError> {
        Role::parse(name).ok_or_else(|| internal(format!("unknown role {name:?}")))
    }
}
