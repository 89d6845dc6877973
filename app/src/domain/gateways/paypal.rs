//! PayPal, Orders v2: OAuth client credentials, an order created with a
//! `PayPal-Request-Id` (so a retry makes no second order), the customer's approval at
//! PayPal, our capture when they come back, and the `PAYMENT.CAPTURE.COMPLETED` webhook,
//! which PayPal signs with its certificate and we check by asking PayPal's
//! verify-webhook-signature API (PayPal's recommended way; we hold no certificates).
//!
//! Amounts travel as decimal strings in the currency's unit (`"25.00"`), never floats.

use super::failure::Failure;
use super::{
    Answer, Checkout, Event, GatewayError, Heard, Notice, Notification, PaymentGateway, Started,
    json_answer,
};
use crate::domain::entities::payment as payment_row;
use crate::domain::payment::Outcome;
use crate::domain::reversal::{Dispute, DisputeEvent};
use crate::model::money::{Currency, Money};
use crate::model::top_up::Gateway;
use secrecy::{ExposeSecret, SecretString};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Our PayPal app's settings. The secret never appears in `Debug` output.
#[derive(Clone, Debug)]
pub struct PayPalConfig {
    /// `https://api-m.paypal.com`, `https://api-m.sandbox.paypal.com`, or ours.
    pub api_base: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The id PayPal gave our webhook endpoint; part of what its signature covers.
    pub webhook_id: String,
}

/// The body of PayPal's verify-webhook-signature call, with the event as PayPal sent it.
#[derive(serde::Serialize)]
pub struct VerifyRequest<'a> {
    pub auth_algo: &'a str,
    pub cert_url: &'a str,
    pub transmission_id: &'a str,
    pub transmission_sig: &'a str,
    pub transmission_time: &'a str,
    pub webhook_id: &'a str,
    pub webhook_event: &'a RawValue,
}

/// The largest webhook body we read (PayPal's events are a few KB).
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

/// PayPal's transmission headers, checked for form before we ask PayPal about them, so
/// junk posted at the webhook never costs a call to PayPal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmission {
    pub id: String,
    pub time: String,
    pub sig: String,
    pub auth_algo: String,
    pub cert_url: String,
}

impl Transmission {
    pub fn read(call: &Notification) -> Result<Transmission, GatewayError> {
        let header = |name: &'static str, max: usize| {
            call.header(name)
                .filter(|v| !v.trim().is_empty() && v.len() <= max)
                .map(str::to_owned)
                .ok_or_else(|| GatewayError::Malformed(format!("no well-formed {name} header")))
        };
        let transmission = Transmission {
            id: header("paypal-transmission-id", 100)?,
            time: header("paypal-transmission-time", 64)?,
            sig: header("paypal-transmission-sig", 1024)?,
            auth_algo: header("paypal-auth-algo", 64)?,
            cert_url: header("paypal-cert-url", 512)?,
        };
        if chrono::DateTime::parse_from_rfc3339(&transmission.time).is_err() {
            return Err(GatewayError::Malformed(
                "paypal-transmission-time is not a time".into(),
            ));
        }
        if !transmission.cert_url.starts_with("https://")
            && !transmission.cert_url.starts_with("http://")
        {
            return Err(GatewayError::Malformed(
                "paypal-cert-url is not a URL".into(),
            ));
        }
        if call.body.is_empty() || call.body.len() > MAX_WEBHOOK_BYTES {
            return Err(GatewayError::Malformed(
                "the body is empty or too large".into(),
            ));
        }
        Ok(transmission)
    }
}

/// PayPal as a [`PaymentGateway`].
#[derive(Debug)]
pub struct PayPal {
    pub config: PayPalConfig,
    pub http: reqwest::Client,
    /// The OAuth access token and when to stop using it.
    token: Mutex<Option<(SecretString, Instant)>>,
}

/// A PayPal amount: the decimal string in the currency's unit.
pub fn amount_value(amount: Money) -> Value {
    json!({ "currency_code": amount.currency().code(), "value": amount.to_plain_string() })
}

/// Reads a PayPal amount object; `None` if malformed or in a currency we do not hold.
pub fn read_amount(amount: &Value) -> Option<Money> {
    let currency = Currency::from_code(amount["currency_code"].as_str()?)?;
    Money::parse_positive(amount["value"].as_str()?, currency).ok()
}

/// The body of `POST /v2/checkout/orders` for a top-up.
pub fn order_body(checkout: &Checkout<'_>) -> Value {
    json!({
        "intent": "CAPTURE",
        "purchase_units": [{
            "reference_id": checkout.reference,
            "custom_id": checkout.reference,
            "invoice_id": checkout.reference,
            "description": format!("Credit top-up {}", checkout.reference),
            "amount": amount_value(checkout.amount),
        }],
        "payment_source": { "paypal": { "experience_context": {
            "return_url": checkout.return_url,
            "cancel_url": checkout.cancel_url,
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
        }}},
    })
}

/// What an order (a capture's answer, or `GET` of the order) says: its first capture
/// completed (paid) or declined (failed); `None` while there is none or it is pending.
pub fn order_outcome(order: &Value) -> Option<Outcome> {
    let capture = &order["purchase_units"][0]["payments"]["captures"][0];
    let (id, amount, status) = read_capture(capture)?;
    match status.as_str() {
        "COMPLETED" => Some(Outcome::Paid {
            amount,
            gateway_ref: Some(id),
        }),
        "DECLINED" | "FAILED" => Some(Outcome::Failed {
            reason: Failure::NotCompleted {
                gateway: Gateway::PayPal,
                status: status.to_owned(),
            },
        }),
        _ => None,
    }
}

/// What a capture (the API's answer or the webhook's resource) says about one payment.
pub fn read_capture(capture: &Value) -> Option<(String, Money, String)> {
    Some((
        capture["id"].as_str()?.to_owned(),
        read_amount(&capture["amount"])?,
        capture["status"].as_str()?.to_owned(),
    ))
}

impl PayPal {
    pub fn new(config: PayPalConfig, http: reqwest::Client) -> PayPal {
        PayPal {
            config,
            http,
            token: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base.trim_end_matches('/'))
    }

    /// An OAuth access token, fetched with the client credentials and kept until a
    /// minute before it runs out.
    async fn access_token(&self) -> Result<SecretString, GatewayError> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(self.url("/v1/oauth2/token"))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?;
        let answer = json_answer(response).await?;
        let token = answer["access_token"]
            .as_str()
            .ok_or_else(|| GatewayError::Malformed("token answer without access_token".into()))?;
        let lifetime = answer["expires_in"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(60);
        let token = SecretString::from(token.to_owned());
        *held = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        Ok(token)
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, GatewayError> {
        let token = self.access_token().await?;
        Ok(self
            .http
            .get(self.url(path))
            .bearer_auth(token.expose_secret())
            .send()
            .await?)
    }

    /// Captures an approved order (idempotent by `PayPal-Request-Id`, so the customer's
    /// return and the expiry job may both call it): the outcome, or `None` to wait.
    async fn capture(&self, order: &str, reference: &str) -> Result<Option<Outcome>, GatewayError> {
        let response = self
            .post(
                &format!("/v2/checkout/orders/{order}/capture"),
                Some(&format!("capture-{reference}")),
                &json!({}),
            )
            .await?;
        match json_answer(response).await {
            Ok(answer) => Ok(order_outcome(&answer)),
            Err(GatewayError::Refused(why)) if why.contains("INSTRUMENT_DECLINED") => {
                Ok(Some(Outcome::Failed {
                    reason: Failure::Declined {
                        gateway: Gateway::PayPal,
                    },
                }))
            }
            // ORDER_ALREADY_CAPTURED and the like: a capture happened; its webhook
            // settles it, or the expiry job's query.
            Err(GatewayError::Refused(why)) => {
                tracing::info!(order, why, "PayPal capture refused");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn post<T: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        request_id: Option<&str>,
        body: &T,
    ) -> Result<reqwest::Response, GatewayError> {
        let token = self.access_token().await?;
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(token.expose_secret())
            .json(body);
        if let Some(id) = request_id {
            request = request.header("PayPal-Request-Id", id);
        }
        Ok(request.send().await?)
    }
}

#[async_trait::async_trait]
impl PaymentGateway for PayPal {
    fn gateway(&self) -> Gateway {
        Gateway::PayPal
    }

    async fn start(&self, checkout: &Checkout<'_>) -> Result<Started, GatewayError> {
        let response = self
            .post(
                "/v2/checkout/orders",
                Some(&format!("order-{}", checkout.reference)),
                &order_body(checkout),
            )
            .await?;
        let order = json_answer(response).await?;
        let approve = order["links"].as_array().and_then(|links| {
            links
                .iter()
                .find(|l| l["rel"] == "payer-action" || l["rel"] == "approve")
                .and_then(|l| l["href"].as_str())
        });
        let (Some(id), Some(approve)) = (order["id"].as_str(), approve) else {
            return Err(GatewayError::Malformed(
                "order without id or approve link".into(),
            ));
        };
        Ok(Started {
            redirect_url: approve.to_owned(),
            gateway_ref: Some(id.to_owned()),
        })
    }

    async fn returned(
        &self,
        payment: &payment_row::Model,
        query: &[(String, String)],
    ) -> Result<Option<Outcome>, GatewayError> {
        if super::cancelled(query) {
            // An order nobody approved can never be captured: we are the only capturer.
            // (The cancel link is the browser's word, not PayPal's: GaveUp.)
            return Ok(Some(Outcome::GaveUp {
                reason: Failure::Cancelled {
                    gateway: Gateway::PayPal,
                },
            }));
        }
        let order = payment
            .gateway_ref
            .as_deref()
            .ok_or_else(|| GatewayError::Malformed("payment has no PayPal order".into()))?;
        let token = query.iter().find(|(k, _)| k == "token").map(|(_, v)| v);
        if token.map(String::as_str) != Some(order) {
            return Err(GatewayError::Malformed(
                "token is not this payment's order".into(),
            ));
        }
        self.capture(order, &payment.reference).await
    }

    async fn notified(&self, call: &Notification) -> Result<Option<Event>, GatewayError> {
        let transmission = Transmission::read(call)?;
        // PayPal verifies the event exactly as it sent it: the raw bytes go into the
        // verify call, never a re-serialised value (which would reorder keys).
        let raw: &RawValue = serde_json::from_slice(&call.body)
            .map_err(|_| GatewayError::Malformed("body is not JSON".into()))?;
        let event: Value = serde_json::from_str(raw.get())
            .map_err(|_| GatewayError::Malformed("body is not JSON".into()))?;
        let check = VerifyRequest {
            auth_algo: &transmission.auth_algo,
            cert_url: &transmission.cert_url,
            transmission_id: &transmission.id,
            transmission_sig: &transmission.sig,
            transmission_time: &transmission.time,
            webhook_id: &self.config.webhook_id,
            webhook_event: raw,
        };
        let response = self
            .post("/v1/notifications/verify-webhook-signature", None, &check)
            .await?;
        if json_answer(response).await?["verification_status"] != "SUCCESS" {
            return Err(GatewayError::BadSignature);
        }
        let resource = &event["resource"];
        if let Some(found) = dispute_event(&event) {
            return Ok(Some(found));
        }
        let outcome = match event["event_type"].as_str() {
            Some("PAYMENT.CAPTURE.COMPLETED") => {
                let Some((id, amount, _)) = read_capture(resource) else {
                    return Err(GatewayError::Malformed("capture unreadable".into()));
                };
                Outcome::Paid {
                    amount,
                    gateway_ref: Some(id),
                }
            }
            Some("PAYMENT.CAPTURE.DENIED") => Outcome::Failed {
                reason: Failure::Declined {
                    gateway: Gateway::PayPal,
                },
            },
            _ => return Ok(None),
        };
        let (Some(event_id), Some(reference)) =
            (event["id"].as_str(), resource["custom_id"].as_str())
        else {
            return Err(GatewayError::Malformed(
                "event without id or custom_id".into(),
            ));
        };
        Ok(Some(Event::Settle(Notice {
            event_id: Some(event_id.to_owned()),
            reference: reference.to_owned(),
            outcome,
        })))
    }

    fn captures_on_return(&self, query: &[(String, String)]) -> bool {
        !super::cancelled(query)
    }

    async fn query(&self, payment: &payment_row::Model) -> Result<Option<Outcome>, GatewayError> {
        let Some(order) = payment.gateway_ref.as_deref() else {
            return Ok(Some(Outcome::GaveUp {
                reason: Failure::Unknown {
                    gateway: Gateway::PayPal,
                },
            }));
        };
        let response = self.get(&format!("/v2/checkout/orders/{order}")).await?;
        let found = match json_answer(response).await {
            Ok(found) => found,
            Err(GatewayError::Refused(why)) if why.contains("RESOURCE_NOT_FOUND") => {
                return Ok(Some(Outcome::GaveUp {
                    reason: Failure::Unknown {
                        gateway: Gateway::PayPal,
                    },
                }));
            }
            Err(e) => return Err(e),
        };
        match found["status"].as_str() {
            // The customer approved but never came back to us: take the money now.
            Some("APPROVED") => self.capture(order, &payment.reference).await,
            Some("COMPLETED") => Ok(order_outcome(&found)),
            // Never approved: we are the only capturer, so nobody can pay it now.
            Some("CREATED" | "PAYER_ACTION_REQUIRED" | "SAVED" | "VOIDED") => {
                Ok(Some(Outcome::GaveUp {
                    reason: Failure::Expired {
                        gateway: Gateway::PayPal,
                    },
                }))
            }
            _ => Ok(None),
        }
    }

    fn answer(&self, heard: &Heard) -> Answer {
        match heard {
            Heard::Refused(_) => Answer::json(400, "{}"),
            Heard::Failed => Answer::json(500, "{}"),
            Heard::Settled(_) | Heard::Ignored | Heard::Disputed => Answer::json(200, "{}"),
        }
    }
}

/// A charge-back event, read: `PAYMENT.CAPTURE.REVERSED` (our reference in the capture's
/// `custom_id`), `CUSTOMER.DISPUTE.CREATED` and `CUSTOMER.DISPUTE.RESOLVED` (in the
/// disputed transaction's `custom`, or its `invoice_number`). Other events: `None`.
pub fn dispute_event(event: &Value) -> Option<Event> {
    let resource = &event["resource"];
    let event_id = event["id"].as_str()?.to_owned();
    let (reference, dispute_id, happened, detail) = match event["event_type"].as_str()? {
        "PAYMENT.CAPTURE.REVERSED" => (
            resource["custom_id"]
                .as_str()
                .or(resource["invoice_id"].as_str())?,
            resource["id"].as_str()?,
            DisputeEvent::Reversed,
            resource["status_details"]["reason"]
                .as_str()
                .unwrap_or("reversed"),
        ),
        kind @ ("CUSTOMER.DISPUTE.CREATED" | "CUSTOMER.DISPUTE.RESOLVED") => {
            let disputed = &resource["disputed_transactions"][0];
            let happened = match (kind, resource["dispute_outcome"]["outcome_code"].as_str()) {
                ("CUSTOMER.DISPUTE.CREATED", _) => DisputeEvent::Opened,
                (_, Some("RESOLVED_SELLER_FAVOUR")) => DisputeEvent::Won,
                _ => DisputeEvent::Lost,
            };
            (
                disputed["custom"]
                    .as_str()
                    .or(disputed["invoice_number"].as_str())?,
                resource["dispute_id"].as_str()?,
                happened,
                resource["reason"].as_str().unwrap_or_default(),
            )
        }
        _ => return None,
    };
    Some(Event::Dispute {
        event_id,
        dispute: Dispute {
            gateway: Gateway::PayPal,
            reference: reference.to_owned(),
            dispute_id: dispute_id.to_owned(),
            event: happened,
            detail: detail.to_owned(),
        },
    })
}
