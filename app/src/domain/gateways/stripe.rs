//! Stripe: Checkout Sessions, and the signed `checkout.session.completed` webhook.
//!
//! Crediting happens only from the webhook, with `payment_status = paid`, after its
//! `Stripe-Signature` header checks out: HMAC-SHA256 of `<t>.<raw body>` under the
//! endpoint's signing secret, matching any of the `v1` values (several during a secret
//! rotation), with `t` no more than 300 s from now. JPY is a zero-decimal currency:
//! Stripe's `unit_amount` is yen, not hundredths.

use crate::model::money::{Currency, Money};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a webhook's timestamp may be from now.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a webhook was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no Stripe-Signature header, or it has no t= and v1= parts")]
    MalformedHeader,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signature's timestamp is {0} s away from now (tolerance {TOLERANCE_SECONDS} s)")]
    Stale(i64),
}

/// Checks a webhook's `Stripe-Signature` header against its raw body.
pub fn verify_webhook(
    secret: &SecretString,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.extend(hex::decode(sig).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MalformedHeader)?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedHeader);
    }
    let drift = (now.timestamp() - timestamp).abs();
    if drift > TOLERANCE_SECONDS {
        return Err(WebhookError::Stale(drift));
    }
    let signed = |sig: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    };
    if signatures.iter().any(|s| signed(s)) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Stripe's `unit_amount` for an amount: the smallest unit Stripe counts in, which for
/// zero-decimal currencies (JPY) is the whole unit.
pub fn unit_amount(amount: Money) -> Option<i64> {
    amount.to_minor()
}

/// Stripe's lower-case currency code.
pub fn currency_code(currency: Currency) -> String {
    currency.code().to_lowercase()
}

/// The form fields of `POST /v1/checkout/sessions` for a top-up.
pub fn checkout_session_form(
    amount: Money,
    reference: &str,
    success_url: &str,
    cancel_url: &str,
) -> Option<Vec<(String, String)>> {
    let unit = unit_amount(amount)?;
    Some(
        [
            ("mode", "payment".to_owned()),
            ("client_reference_id", reference.to_owned()),
            ("success_url", success_url.to_owned()),
            ("cancel_url", cancel_url.to_owned()),
            ("line_items[0][quantity]", "1".to_owned()),
            (
                "line_items[0][price_data][currency]",
                currency_code(amount.currency()),
            ),
            ("line_items[0][price_data][unit_amount]", unit.to_string()),
            (
                "line_items[0][price_data][product_data][name]",
                format!("Credit top-up {reference}"),
            ),
            ("metadata[reference]", reference.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    )
}

/// What a `checkout.session.completed` event says, read from its verified body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedSession {
    pub event_id: String,
    pub session_id: String,
    pub reference: String,
    pub amount: Money,
    pub paid: bool,
}

/// Reads a verified webhook body; `None` for events other than a completed checkout
/// session, or a currency we do not hold.
pub fn completed_session(body: &[u8]) -> Option<CompletedSession> {
    let event: serde_json::Value = serde_json::from_slice(body).ok()?;
    if event["type"] != "checkout.session.completed" {
        return None;
    }
    let session = &event["data"]["object"];
    let currency = Currency::from_code(&session["currency"].as_str()?.to_uppercase())?;
    Some(CompletedSession {
        event_id: event["id"].as_str()?.to_owned(),
        session_id: session["id"].as_str()?.to_owned(),
        reference: session["client_reference_id"].as_str()?.to_owned(),
        amount: Money::from_minor(session["amount_total"].as_i64()?, currency),
        paid: session["payment_status"] == "paid",
    })
}
