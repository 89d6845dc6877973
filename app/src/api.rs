//! Server functions: the browser's only way into the domain. Each is thin: it takes the
//! user from the session (never from an argument), calls the domain, and maps errors to
//! [`AppError`] without leaking internals.
//!
//! Each begins with `Call::begin().await?`, which reads the request's context (database,
//! session, reactive owner) before anything else: Leptos' context is only reliable
//! before a server function's first `.await`.

use crate::model::billing::BillingForm;
use crate::model::error::AppError;
use crate::model::history::HistoryPage;
use crate::model::session::Viewer;
use crate::model::top_up::{PaymentOutcome, PaymentPage, TopUpSetup};
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
    if email.len() > 254 || email.chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field: "email".into(),
            message: "Enter a valid email address.".into(),
        });
    }
    let signed_in = auth::sign_in(
        call.db.conn(),
        &email,
        &password,
        &call.client_ip,
        crate::domain::db::now(),
    )
    .await;
    let user = match signed_in {
        Ok(user) => user,
        Err(AuthError::BadCredentials) => return Err(AppError::BadCredentials),
        Err(AuthError::Throttled(wait)) => {
            return Err(AppError::TooManyAttempts {
                minutes: wait.minutes(),
            });
        }
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

/// What the Add credit dialog starts from: saved billing settings (if any), the
/// user's email and the top-up maximums.
#[server(prefix = "/rpc", endpoint = "top_up_setup")]
pub async fn get_top_up_setup() -> Result<TopUpSetup, AppError> {
    use crate::domain::billing;
    use crate::model::money::Currency;
    let call = server::Call::begin().await?;
    let gateways = call.gateways()?;
    let user = call.require_customer().await?;
    let (profile, currency) = match call.account_of(&user).await? {
        Some((acct, currency)) => (
            billing::profile(&call.db, &acct)
                .await
                .map_err(server::internal)?,
            Some(currency),
        ),
        None => (None, None),
    };
    Ok(TopUpSetup {
        profile,
        currency,
        email: user.email,
        maximums: Currency::ALL
            .iter()
            .map(|c| (gateways.maximum)(*c))
            .collect(),
    })
}

/// Saves the billing settings. The first save opens the account in the chosen
/// currency; a later change of currency is refused. Field problems come back together.
#[server(prefix = "/rpc", endpoint = "save_billing_settings")]
pub async fn save_billing_settings(form: BillingForm) -> Result<(), AppError> {
    use crate::domain::billing::{self, BillingError};
    use crate::model::billing::FieldError;
    let call = server::Call::begin().await?;
    let user = call.require_customer().await?;
    let profile = form.validate().map_err(AppError::Fields)?;
    match billing::save(&call.db, user.id, &profile).await {
        Ok(_) => Ok(()),
        Err(e @ (BillingError::CurrencyLocked(_) | BillingError::CountryForCurrency(_))) => {
            let field = match e {
                BillingError::CurrencyLocked(_) => "currency",
                _ => "country",
            };
            Err(AppError::Fields(vec![FieldError {
                field: field.into(),
                message: e.to_string(),
            }]))
        }
        Err(e) => Err(server::internal(e)),
    }
}

/// Pay: creates the pending payment (one per `client_token`, so a double click makes
/// one) and returns the gateway page to send the browser to. `consent` is the version of
/// the non-refundable terms the customer ticked; it is stored with the payment.
#[server(prefix = "/rpc", endpoint = "start_top_up")]
pub async fn start_top_up(
    amount: String,
    client_token: String,
    #[server(default)] consent: String,
) -> Result<String, AppError> {
    use crate::domain::gateways::{self, StartError};
    use crate::domain::payment::NewPayment;
    use crate::model::top_up::{TERMS_VERSION, check_amount, gateway_for};
    let call = server::Call::begin().await?;
    let gateways = call.gateways()?;
    let (_, account, currency) = call.require_account().await?;
    if consent != TERMS_VERSION {
        return Err(AppError::Invalid {
            field: "consent".into(),
            message: "Please confirm that purchased credits are non-refundable.".into(),
        });
    }
    let token = client_token.trim();
    // The column holds 64 characters; the browser sends 32.
    if token.is_empty() || token.len() > 64 {
        // Not something the customer typed: the request itself is malformed.
        return Err(AppError::BadRequest(
            "The payment request is incomplete; reload the page and try again.".into(),
        ));
    }
    let amount = check_amount(&amount, currency, (gateways.maximum)(currency)).map_err(|e| {
        AppError::Invalid {
            field: "amount".into(),
            message: e.to_string(),
        }
    })?;
    let new = NewPayment {
        account_id: account.id,
        amount,
        gateway: gateway_for(currency),
        client_token: token.to_owned(),
        consent_version: consent,
    };
    match gateways::start(&call.db, &gateways, &new, &call.client_ip).await {
        Ok((_, started)) => Ok(started.redirect_url),
        Err(StartError::Gateway(_)) => Err(AppError::Invalid {
            field: "gateway".into(),
            message: format!(
                "{} could not be reached, so nothing was charged. Please try again in a moment.",
                new.gateway.label()
            ),
        }),
        Err(StartError::Throttled(wait)) => Err(AppError::TooManyAttempts {
            minutes: wait.minutes(),
        }),
        Err(StartError::Ended(_)) => Err(AppError::Invalid {
            field: "gateway".into(),
            message:
                "This payment attempt has ended. Go Back and press Pay again to start a new one."
                    .into(),
        }),
        Err(e) => Err(server::internal(e)),
    }
}

/// One of the signed-in customer's payments, for its outcome page.
#[server(prefix = "/rpc", endpoint = "payment_outcome")]
pub async fn get_payment_outcome(reference: String) -> Result<Option<PaymentOutcome>, AppError> {
    use crate::domain::{ledger, payment};
    use crate::model::money::Money;
    use crate::model::top_up::Gateway;
    let call = server::Call::begin().await?;
    let (_, account, currency) = call.require_account().await?;
    let Some(p) = payment::of_account(call.db.conn(), &account.id, &reference)
        .await
        .map_err(server::internal)?
    else {
        return Ok(None);
    };
    let balances = ledger::balances(call.db.conn(), &account.id, currency)
        .await
        .map_err(server::internal)?;
    Ok(Some(PaymentOutcome {
        reference: p.reference,
        amount: Money::from_minor(p.amount_minor, currency),
        method: Gateway::parse(&p.gateway).unwrap_or(crate::model::top_up::gateway_for(currency)),
        status: payment::customer_status(&p.state),
        reason: p.failure_reason,
        balance: balances.total(),
    }))
}

/// A page of the signed-in customer's Payment History; `query` is the page's URL query
/// (`after=` / `before=` cursor).
#[server(prefix = "/rpc", endpoint = "payment_history")]
pub async fn payment_history(query: String) -> Result<PaymentPage, AppError> {
    use crate::domain::{history, payment};
    use crate::model::history::HistoryFilter;
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    // The same cursor and page-size parameters as Credit History, checked the same way
    // (a page of 10,000 payments is not a page).
    let filter = HistoryFilter::from_query_string(&query);
    filter
        .validate()
        .map_err(|e| server::history_error(crate::domain::history::HistoryError::Filter(e)))?;
    let tz = history::time_zone(&user.time_zone);
    payment::page(
        call.db.conn(),
        &account.id,
        currency,
        tz,
        filter.cursor.as_ref(),
        u64::from(filter.page_size),
    )
    .await
    .map_err(server::history_error)
}

/// Helpers only the server functions use.
#[cfg(feature = "ssr")]
pub mod server {
    use crate::domain::db::Db;
    use crate::domain::entities::{account as account_row, user};
    use crate::domain::gateways::Gateways;
    use crate::domain::history::HistoryError;
    use crate::domain::{account, auth};
    use crate::model::error::AppError;
    use crate::model::money::Currency;
    use crate::model::session::Role;
    use axum::extract::ConnectInfo;
    use leptos::prelude::{Owner, use_context};
    use std::net::SocketAddr;
    use tower_sessions::Session;

    /// The client's address as the server established it (a request extension).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ClientIp(pub String);

    /// Logs an internal failure and returns the message-free error the browser sees.
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "server function failed");
        AppError::Internal
    }

    /// What a server function needs from its request, read up front.
    pub struct Call {
        pub db: Db,
        pub session: Session,
        /// The caller's address (VNPay wants it); loopback when unknown.
        pub client_ip: String,
        owner: Owner,
        gateways: Option<Gateways>,
    }

    impl Call {
        /// Reads the database, session and reactive owner. Call it first, before any
        /// other `.await`.
        pub async fn begin() -> Result<Call, AppError> {
            let owner = Owner::current().ok_or_else(|| internal("no reactive owner"))?;
            let db = use_context::<Db>().ok_or_else(|| internal("no database in context"))?;
            let gateways = use_context::<Gateways>();
            let session = leptos_axum::extract::<Session>().await.map_err(internal)?;
            // The server's `client_ip` layer says who the client is (behind a trusted
            // proxy, the address the proxy saw); the socket's peer otherwise.
            let client_ip = match leptos_axum::extract::<axum::Extension<ClientIp>>().await {
                Ok(axum::Extension(ClientIp(ip))) => ip,
                Err(_) => leptos_axum::extract::<ConnectInfo<SocketAddr>>()
                    .await
                    .map(|ConnectInfo(addr)| addr.ip().to_string())
                    .unwrap_or_else(|_| "127.0.0.1".into()),
            };
            Ok(Call {
                db,
                session,
                client_ip,
                owner,
                gateways,
            })
        }

        /// The payment gateways.
        pub fn gateways(&self) -> Result<Gateways, AppError> {
            self.gateways
                .clone()
                .ok_or_else(|| internal("no gateways in context"))
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

        /// The signed-in customer; an operator has no billing pages (`Forbidden`).
        pub async fn require_customer(&self) -> Result<user::Model, AppError> {
            let user = self.require_user().await?;
            match role(&user.role)? {
                Role::Customer => Ok(user),
                Role::Operator => Err(AppError::Forbidden),
            }
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
            let user = self.require_customer().await?;
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
