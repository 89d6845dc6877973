//! Add credit: the dialog's setup, billing settings, Pay, the outcome page and Payment
//! History.

use crate::model::billing::BillingForm;
use crate::model::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::problem::Problem;
use crate::model::top_up::{PaymentOutcome, PaymentPage, TopUpSetup};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;

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
        countries: billing::countries(call.language),
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
        Err(BillingError::CurrencyLocked(held)) => Err(AppError::Fields(vec![FieldError::new(
            "currency",
            Problem::CurrencyLocked(held),
        )])),
        Err(BillingError::CountryForCurrency(held)) => {
            Err(AppError::Fields(vec![FieldError::new(
                "country",
                Problem::CountryForCurrency(held),
            )]))
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
            problem: Problem::ConfirmNonRefundable,
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
            problem: Problem::Amount(e),
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
            problem: Problem::GatewayUnreachable(new.gateway),
        }),
        Err(StartError::Throttled(wait)) => Err(AppError::TooManyAttempts {
            minutes: wait.minutes(),
        }),
        Err(StartError::Ended(_)) => Err(AppError::Invalid {
            field: "gateway".into(),
            problem: Problem::AttemptEnded,
        }),
        Err(e) => Err(server::internal(e)),
    }
}

/// One of the signed-in customer's payments, for its outcome page.
#[server(prefix = "/rpc", endpoint = "payment_outcome")]
pub async fn get_payment_outcome(reference: String) -> Result<Option<PaymentOutcome>, AppError> {
    use crate::domain::gateways::failure::Failure;
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
    let failure = Failure::parse(p.failure.as_deref());
    Ok(Some(PaymentOutcome {
        reference: p.reference,
        amount: Money::from_minor(p.amount_minor, currency),
        method: Gateway::parse(&p.gateway).unwrap_or(crate::model::top_up::gateway_for(currency)),
        status: payment::customer_status(&p.state),
        reason: failure
            .as_ref()
            .map(|f| f.words(call.language))
            .or(p.failure_reason),
        cancelled: failure.as_ref().is_some_and(Failure::is_cancelled),
        balance: balances.total(),
    }))
}

/// A page of the signed-in customer's Payment History; `query` is the page's URL query
/// (`after=` / `before=` cursor).
#[server(prefix = "/rpc", endpoint = "payment_history")]
pub async fn payment_history(query: String) -> Result<PaymentPage, AppError> {
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    server::payment_page(&call, &user, &account.id, currency, &query).await
}
