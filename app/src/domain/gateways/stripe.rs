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

use super::failure::Failure;
use super::{
    Answer, Checkout, Event, GatewayError, Heard, Notice, Notification, PaymentGateway, Started,
};
use crate::domain::entities::payment as payment_row;
use crate::domain::payment::Outcome;
use crate::domain::reversal::{Dispute, DisputeEvent};
use crate::model::top_up::Gateway;

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
            // Copied onto the PaymentIntent: a dispute names only that, and this finds
            // our payment again.
            (
                "payment_intent_data[metadata][reference]",
                reference.to_owned(),
            ),
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

/// A verified Checkout Session event we act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionEvent {
    pub event_id: String,
    pub session_id: String,
    pub reference: String,
    pub amount: Money,
    pub kind: SessionEventKind,
}

/// Which Checkout Session event it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEventKind {
    /// `checkout.session.completed` with `payment_status=paid`, or
    /// `checkout.session.async_payment_succeeded`.
    Paid,
    /// Completed, but the money has not arrived yet (a delayed payment method).
    Awaiting,
    /// `checkout.session.async_payment_failed` or `checkout.session.expired`.
    Failed,
}

/// Reads a verified webhook body; `None` for events we do not act on.
pub fn session_event(body: &[u8]) -> Option<SessionEvent> {
    let event: serde_json::Value = serde_json::from_slice(body).ok()?;
    let session = &event["data"]["object"];
    let kind = match event["type"].as_str()? {
        "checkout.session.completed" if session["payment_status"] == "paid" => {
            SessionEventKind::Paid
        }
        "checkout.session.completed" => SessionEventKind::Awaiting,
        "checkout.session.async_payment_succeeded" => SessionEventKind::Paid,
        "checkout.session.async_payment_failed" | "checkout.session.expired" => {
            SessionEventKind::Failed
        }
        _ => return None,
    };
    let currency = Currency::from_code(&session["currency"].as_str()?.to_uppercase())?;
    Some(SessionEvent {
        event_id: event["id"].as_str()?.to_owned(),
        session_id: session["id"].as_str()?.to_owned(),
        reference: session["client_reference_id"].as_str()?.to_owned(),
        amount: Money::from_minor(session["amount_total"].as_i64()?, currency),
        kind,
    })
}

/// A `charge.dispute.*` event, read: (event id, dispute id, PaymentIntent id, what
/// happened, the reason). Closed disputes count as won or lost; other updates are not
/// acted on.
pub fn dispute_event(body: &[u8]) -> Option<(String, String, String, DisputeEvent, String)> {
    let event: serde_json::Value = serde_json::from_slice(body).ok()?;
    let dispute = &event["data"]["object"];
    let happened = match (event["type"].as_str()?, dispute["status"].as_str()) {
        ("charge.dispute.created" | "charge.dispute.funds_withdrawn", _) => DisputeEvent::Opened,
        ("charge.dispute.closed", Some("won")) => DisputeEvent::Won,
        ("charge.dispute.closed", Some("lost")) => DisputeEvent::Lost,
        _ => return None,
    };
    Some((
        event["id"].as_str()?.to_owned(),
        dispute["id"].as_str()?.to_owned(),
        dispute["payment_intent"].as_str()?.to_owned(),
        happened,
        dispute["reason"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// What a retrieved Checkout Session says: paid, closed unpaid, or still to wait on
/// (open, or complete with a delayed payment method's money not yet arrived).
pub fn session_outcome(session: &serde_json::Value) -> Option<Outcome> {
    match (
        session["status"].as_str(),
        session["payment_status"].as_str(),
    ) {
        (Some("complete"), Some("paid" | "no_payment_required")) => {
            let currency = Currency::from_code(&session["currency"].as_str()?.to_uppercase())?;
            Some(Outcome::Paid {
                amount: Money::from_minor(session["amount_total"].as_i64()?, currency),
                gateway_ref: session["id"].as_str().map(str::to_owned),
            })
        }
        (Some("expired"), _) => Some(Outcome::Failed {
            reason: Failure::Expired {
                gateway: Gateway::Stripe,
            },
        }),
        _ => None,
    }
}

/// Our Stripe account's settings. Secrets never appear in `Debug` output.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// `https://api.stripe.com`, or the built-in sandbox.
    pub api_base: String,
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: SecretString,
}

/// Stripe as a [`PaymentGateway`].
#[derive(Clone, Debug)]
pub struct Stripe {
    pub config: StripeConfig,
    pub http: reqwest::Client,
}

/// Stripe refuses Checkout Sessions that expire sooner than this after creation.
pub const MIN_SESSION_MINUTES: i64 = 30;

impl Stripe {
    /// A dispute names the PaymentIntent only; its metadata (set through the session's
    /// `payment_intent_data`) names our payment.
    async fn dispute(
        &self,
        (event_id, dispute_id, intent, event, reason): (
            String,
            String,
            String,
            DisputeEvent,
            String,
        ),
    ) -> Result<Event, GatewayError> {
        let response = self
            .http
            .get(self.url(&format!("/v1/payment_intents/{intent}")))
            .basic_auth(self.config.secret_key.expose_secret(), None::<&str>)
            .send()
            .await?;
        let found = super::json_answer(response).await?;
        let reference = found["metadata"]["reference"]
            .as_str()
            .filter(|r| !r.is_empty())
            .ok_or_else(|| GatewayError::Malformed("the PaymentIntent names no payment".into()))?;
        Ok(Event::Dispute {
            event_id,
            dispute: Dispute {
                gateway: Gateway::Stripe,
                reference: reference.to_owned(),
                dispute_id,
                event,
                detail: reason,
            },
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base.trim_end_matches('/'))
    }

    /// `POST /v1/checkout/sessions/{id}/expire`, so the session can no longer be paid:
    /// the session as it now stands, or `None` when Stripe refuses (it was paid or
    /// closed meanwhile; its webhook or the next look settles it).
    async fn expire_session(&self, id: &str) -> Result<Option<serde_json::Value>, GatewayError> {
        let response = self
            .http
            .post(self.url(&format!("/v1/checkout/sessions/{id}/expire")))
            .basic_auth(self.config.secret_key.expose_secret(), None::<&str>)
            .send()
            .await?;
        match super::json_answer(response).await {
            Ok(session) => Ok(Some(session)),
            Err(GatewayError::Refused(why)) => {
                tracing::info!(session = id, why, "Stripe session not expired");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait::async_trait]
impl PaymentGateway for Stripe {
    fn gateway(&self) -> Gateway {
        Gateway::Stripe
    }

    fn minimum_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(MIN_SESSION_MINUTES)
    }

    async fn start(&self, checkout: &Checkout<'_>) -> Result<Started, GatewayError> {
        let mut form = checkout_session_form(
            checkout.amount,
            checkout.reference,
            // Stripe fills in {CHECKOUT_SESSION_ID} itself.
            &format!("{}&session_id={{CHECKOUT_SESSION_ID}}", checkout.return_url),
            &checkout.cancel_url,
        )
        .ok_or_else(|| GatewayError::Malformed("amount".into()))?;
        // The session closes with our payment, so nobody pays after we gave up on it.
        form.push((
            "expires_at".into(),
            checkout.expires_at.timestamp().to_string(),
        ));
        let response = self
            .http
            .post(self.url("/v1/checkout/sessions"))
            .basic_auth(self.config.secret_key.expose_secret(), None::<&str>)
            // A retried start makes no second session.
            .header("Idempotency-Key", checkout.reference)
            .form(&form)
            .send()
            .await?;
        let session = super::json_answer(response).await?;
        let (Some(id), Some(url)) = (session["id"].as_str(), session["url"].as_str()) else {
            return Err(GatewayError::Malformed("session without id or url".into()));
        };
        Ok(Started {
            redirect_url: url.to_owned(),
            gateway_ref: Some(id.to_owned()),
        })
    }

    async fn returned(
        &self,
        payment: &payment_row::Model,
        query: &[(String, String)],
    ) -> Result<Option<Outcome>, GatewayError> {
        if !super::cancelled(query) || payment.gateway_ref.is_none() {
            // Back from paying: only the webhook credits.
            return Ok(None);
        }
        // Back from cancelling: we give up on it (`close` then expires the session).
        // The cancel link is the browser's word, not Stripe's: if the session was paid
        // meanwhile, Stripe refuses the expiry and the webhook still credits it.
        Ok(Some(Outcome::GaveUp {
            reason: Failure::Cancelled {
                gateway: Gateway::Stripe,
            },
        }))
    }

    async fn close(&self, payment: &payment_row::Model) -> Result<(), GatewayError> {
        if let Some(session) = payment.gateway_ref.as_deref() {
            self.expire_session(session).await?;
        }
        Ok(())
    }

    async fn notified(&self, call: &Notification) -> Result<Option<Event>, GatewayError> {
        let header = call.header("stripe-signature").unwrap_or_default();
        verify_webhook(
            &self.config.webhook_secret,
            header,
            &call.body,
            crate::domain::db::now(),
        )
        .map_err(|e| match e {
            WebhookError::Stale(_) => GatewayError::Stale(e.to_string()),
            WebhookError::BadSignature => GatewayError::BadSignature,
            WebhookError::MalformedHeader => GatewayError::Malformed(e.to_string()),
        })?;
        if let Some(found) = dispute_event(&call.body) {
            return self.dispute(found).await.map(Some);
        }
        let Some(event) = session_event(&call.body) else {
            return Ok(None);
        };
        let outcome = match event.kind {
            SessionEventKind::Paid => Outcome::Paid {
                amount: event.amount,
                gateway_ref: Some(event.session_id),
            },
            SessionEventKind::Failed => Outcome::Failed {
                reason: Failure::Expired {
                    gateway: Gateway::Stripe,
                },
            },
            SessionEventKind::Awaiting => return Ok(None),
        };
        Ok(Some(Event::Settle(Notice {
            event_id: Some(event.event_id),
            reference: event.reference,
            outcome,
        })))
    }

    async fn query(&self, payment: &payment_row::Model) -> Result<Option<Outcome>, GatewayError> {
        let Some(id) = payment.gateway_ref.as_deref() else {
            // No session was made for it, so nobody could pay it.
            return Ok(Some(Outcome::GaveUp {
                reason: Failure::Unknown {
                    gateway: Gateway::Stripe,
                },
            }));
        };
        let response = self
            .http
            .get(self.url(&format!("/v1/checkout/sessions/{id}")))
            .basic_auth(self.config.secret_key.expose_secret(), None::<&str>)
            .send()
            .await?;
        let mut session = super::json_answer(response).await?;
        if session["status"] == "open" {
            // Stripe closes sessions at their expires_at, give or take a minute: close
            // it now, so it cannot be paid after we give up. If it was paid meanwhile,
            // Stripe refuses and the next run sees it complete.
            match self.expire_session(id).await? {
                Some(expired) => session = expired,
                None => return Ok(None),
            }
        }
        Ok(session_outcome(&session))
    }

    fn answer(&self, heard: &Heard) -> Answer {
        // Stripe retries anything but 2xx: refuse forgeries, ask again when we failed.
        match heard {
            Heard::Refused(_) => Answer::json(400, r#"{"received":false}"#),
            Heard::Failed => Answer::json(500, r#"{"received":false}"#),
            Heard::Settled(_) | Heard::Ignored | Heard::Disputed => {
                Answer::json(200, r#"{"received":true}"#)
            }
        }
    }
}
