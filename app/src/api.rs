//! Server functions: the browser's only way into the domain. Each is thin: it takes the
//! user from the session (never from an argument), calls the domain, and maps errors to
//! [`AppError`] without leaking internals.
//!
//! Each begins with `Call::begin().await?`, which reads the request's context (database,
//! session, reactive owner) before anything else: Leptos' context is only reliable
//! before a server function's first `.await`.

use crate::model::error::AppError;
use crate::model::history::HistoryPage;
use crate::model::session::Viewer;
use leptos::prelude::*;

/// The signed-in user and their balances, or `None` when nobody is signed in.
#[server(prefix = "/rpc", endpoint = "viewer")]
pub async fn get_viewer() -> Result<Option<Viewer>, AppError> {
    use crate::domain::ledger;
    let call = server::Call::begin().await?;
    let Some(user) = call.user().await? else {
        return Ok(None);
    };
    let balances = match call.account_of(&user).await? {
        Some((acct, currency)) => Some(
            ledger::balances(call.db.conn(), &acct.id, currency)
                .await
                .map_err(server::internal)?,
        ),
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
    let call = server::Call::begin().await?;
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
    let user = match auth::verify_credentials(call.db.conn(), &email, &password).await {
        Ok(user) => user,
        Err(AuthError::BadCredentials) => return Err(AppError::BadCredentials),
        Err(e) => return Err(server::internal(e)),
    };
    call.session.cycle_id().await.map_err(server::internal)?;
    call.session
        .insert(auth::SESSION_USER_KEY, user.id)
        .await
        .map_err(server::internal)?;
    call.redirect("/billing");
    Ok(())
}

/// Ends the session on the server and returns to the sign-in page.
#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let call = server::Call::begin().await?;
    call.session.flush().await.map_err(server::internal)?;
    call.redirect("/sign-in");
    Ok(())
}

/// One page of the signed-in customer's Credit History. `query` is the page's URL query
/// string (the filter lives in the URL); the account comes from the session.
#[server(prefix = "/rpc", endpoint = "credit_history")]
pub async fn credit_history(query: String) -> Result<HistoryPage, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    let filter = HistoryFilter::from_query_string(&query);
    let tz = history::time_zone(&user.time_zone);
    history::page(call.db.conn(), &account.id, currency, tz, &filter)
        .await
        .map_err(server::history_error)
}

/// How many rows of the signed-in customer's Credit History match the filter.
#[server(prefix = "/rpc", endpoint = "credit_history_count")]
pub async fn credit_history_count(query: String) -> Result<u64, AppError> {
    use crate::domain::history;
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let (user, account, _) = call.require_account().await?;
    let filter = HistoryFilter::from_query_string(&query);
    let tz = history::time_zone(&user.time_zone);
    history::count(call.db.conn(), &account.id, &filter, tz)
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
    use leptos::prelude::{Owner, use_context};
    use tower_sessions::Session;

    /// Logs an internal failure and returns the message-free error the browser sees.
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "server function failed");
        AppError::Internal
    }

    /// What a server function needs from its request, read up front.
    pub struct Call {
        pub db: Db,
        pub session: Session,
        owner: Owner,
    }

    impl Call {
        /// Reads the database, session and reactive owner. Call it first, before any
        /// other `.await`.
        pub async fn begin() -> Result<Call, AppError> {
            let owner = Owner::current().ok_or_else(|| internal("no reactive owner"))?;
            let db = use_context::<Db>().ok_or_else(|| internal("no database in context"))?;
            let session = leptos_axum::extract::<Session>().await.map_err(internal)?;
            Ok(Call { db, session, owner })
        }

        /// The signed-in user, if the session names one that still exists.
        pub async fn user(&self) -> Result<Option<user::Model>, AppError> {
            auth::signed_in(self.db.conn(), &self.session)
                .await
                .map_err(internal)
        }

        /// The signed-in user, or `SignInRequired`.
        pub async fn require_user(&self) -> Result<user::Model, AppError> {
            self.user().await?.ok_or(AppError::SignInRequired)
        }

        /// The user's account and currency, if they have one yet.
        pub async fn account_of(
            &self,
            user: &user::Model,
        ) -> Result<Option<(account_row::Model, Currency)>, AppError> {
            account::with_currency(self.db.conn(), user.id)
                .await
                .map_err(internal)
        }

        /// The signed-in customer with their account and its currency.
        pub async fn require_account(
            &self,
        ) -> Result<(user::Model, account_row::Model, Currency), AppError> {
            let user = self.require_user().await?;
            match self.account_of(&user).await? {
                Some((acct, currency)) => Ok((user, acct, currency)),
                None => Err(AppError::NoBillingProfile),
            }
        }

        /// Sends the browser to `path` once the function returns.
        pub fn redirect(&self, path: &str) {
            self.owner.with(|| leptos_axum::redirect(path));
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
