//! Gateway sandboxes built into the server, on with `PAYMENT_SANDBOX=on` (the run
//! command and the tests set it; production leaves it off).
//!
//! Each is a small, real implementation of its provider's protocol, not a mock of our
//! code: our gateway clients reach it through their configured base URLs exactly as
//! they reach VNPay, Stripe or PayPal, and it calls our IPN, webhook and return URLs the
//! way the provider does, signed with the configured secrets. Each hosted page has Pay,
//! Cancel and Fail buttons. State lives in memory and is lost on restart.
//!
//! For tests, `POST /sandbox/control/{reference}/{action}` re-delivers the last callback
//! of one of our payments: `replay` (once more, as it was), `twice` (two at once),
//! `bad-signature` (the signature altered), `late` (Stripe: signed 10 minutes ago, so
//! stale; the others have no signing time and get it as it was), `out-of-order` (the
//! opposite outcome, correctly signed, after the first), and a charge-back of a paid
//! Stripe or PayPal payment: `dispute`, `dispute-won`, `dispute-lost` (Stripe
//! `charge.dispute.created` / `closed`; PayPal `CUSTOMER.DISPUTE.CREATED` /
//! `RESOLVED`) and `reverse` (PayPal `PAYMENT.CAPTURE.REVERSED`). It answers with what
//! our server answered to each delivery. `POST /sandbox/control/next/hold-next` holds the
//! next payment's callback back until it is replayed (a slow provider: the customer
//! is back first and sees Pending).
//!
//! Differences from the real providers, all on the provider's side of the wire: VNPay's
//! and Stripe's pages take no card details; PayPal signs webhooks with RSA and a
//! certificate, the sandbox with HMAC-SHA256 under its own key, which its
//! verify-webhook-signature API checks (our code only ever asks that API); Stripe keeps
//! a declined session open, the sandbox's Fail expires it at once (as Stripe does when
//! the session's time runs out), so the failure shows without waiting.

mod paypal;
mod stripe;
mod vnpay;

#[cfg(test)]
mod tests;

use crate::config::PaymentSettings;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rand::Rng;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The sandboxes' shared state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    settings: PaymentSettings,
    /// Our own address, which the sandbox calls back.
    our_url: String,
    http: reqwest::Client,
    /// The sandbox's own webhook signing key (PayPal's "certificate").
    paypal_signing_key: String,
    state: Mutex<Books>,
}

#[derive(Default)]
struct Books {
    stripe_sessions: HashMap<String, Value>,
    /// Session id → the metadata its PaymentIntent gets when paid.
    stripe_intent_metadata: HashMap<String, Value>,
    /// PaymentIntent id → the PaymentIntent.
    stripe_intents: HashMap<String, Value>,
    /// Idempotency key → session id.
    stripe_idempotency: HashMap<String, String>,
    paypal_orders: HashMap<String, paypal::Order>,
    paypal_request_ids: HashMap<String, (u16, Value)>,
    paypal_tokens: Vec<String>,
    /// VNPay: our reference → the result of the customer's choice, for `querydr`.
    vnpay_results: HashMap<String, std::collections::BTreeMap<String, String>>,
    /// Our payment reference → the last callback sent for it.
    last_callback: HashMap<String, Callback>,
    /// Hold the next payment's callback back (until a `replay`), as when the
    /// provider is slow: the customer is back before the callback.
    hold_next: bool,
}

/// A callback as first sent, before signing, so it can be sent again.
#[derive(Clone, Debug)]
enum Callback {
    VnPay(std::collections::BTreeMap<String, String>),
    Stripe(Value),
    PayPal(Value),
}

/// How to alter a re-delivery.
#[derive(Clone, Copy, Debug, Default)]
struct Delivery {
    bad_signature: bool,
    /// Seconds to date the signature back.
    aged: i64,
}

impl Sandbox {
    pub fn new(settings: PaymentSettings, our_url: &str) -> Sandbox {
        Sandbox {
            inner: Arc::new(Inner {
                settings,
                our_url: our_url.trim_end_matches('/').to_owned(),
                http: app::domain::gateways::http_client(),
                paypal_signing_key: app::domain::api_key::random_token(),
                state: Mutex::new(Books::default()),
            }),
        }
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        // A panic while holding the lock leaves plain maps behind; carry on with them.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, reference: &str, callback: Callback) {
        self.books()
            .last_callback
            .insert(reference.to_owned(), callback);
    }

    /// Sends a callback to our server; returns our answer's status and body.
    async fn deliver(&self, callback: &Callback, how: Delivery) -> (u16, String) {
        let request = match callback {
            Callback::VnPay(params) => vnpay::ipn_request(self, params, how),
            Callback::Stripe(event) => stripe::webhook_request(self, event, how),
            Callback::PayPal(event) => paypal::webhook_request(self, event, how),
        };
        match request.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.without_url().to_string()),
        }
    }

    /// Sends a callback, first remembering it for the test controls.
    async fn send(&self, reference: &str, callback: Callback) -> (u16, String) {
        self.remember(reference, callback.clone());
        if std::mem::take(&mut self.books().hold_next) {
            tracing::info!(reference, "sandbox callback held back until replayed");
            return (0, String::new());
        }
        let (status, body) = self.deliver(&callback, Delivery::default()).await;
        tracing::info!(reference, status, body, "sandbox callback delivered");
        (status, body)
    }
}

/// The sandbox routes, under `/sandbox`.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(vnpay::routes())
        .merge(stripe::routes())
        .merge(paypal::routes())
        .route("/sandbox/control/{reference}/{action}", post(control))
        .with_state(sandbox)
}

async fn control(
    State(sandbox): State<Sandbox>,
    Path((reference, action)): Path<(String, String)>,
) -> Response {
    if action == "hold-next" {
        sandbox.books().hold_next = true;
        return Json(json!({ "held": true })).into_response();
    }
    let Some(last) = sandbox.books().last_callback.get(&reference).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no callback was sent for this payment yet" })),
        )
            .into_response();
    };
    let answers = match action.as_str() {
        "replay" => vec![sandbox.deliver(&last, Delivery::default()).await],
        "twice" => {
            let (a, b) = tokio::join!(
                sandbox.deliver(&last, Delivery::default()),
                sandbox.deliver(&last, Delivery::default())
            );
            vec![a, b]
        }
        "bad-signature" => vec![
            sandbox
                .deliver(
                    &last,
                    Delivery {
                        bad_signature: true,
                        ..Delivery::default()
                    },
                )
                .await,
        ],
        "late" => vec![
            sandbox
                .deliver(
                    &last,
                    Delivery {
                        aged: 600,
                        ..Delivery::default()
                    },
                )
                .await,
        ],
        "dispute" | "dispute-won" | "dispute-lost" | "reverse" => {
            let made = match &last {
                Callback::Stripe(e) => stripe::dispute(e, &action).map(Callback::Stripe),
                Callback::PayPal(e) => paypal::dispute(e, &action).map(Callback::PayPal),
                Callback::VnPay(_) => None,
            };
            let Some(made) = made else {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "error": "disputes are for a paid Stripe or PayPal payment; reverse is PayPal's" })),
                )
                    .into_response();
            };
            vec![sandbox.deliver(&made, Delivery::default()).await]
        }
        "out-of-order" => {
            let opposite = match &last {
                Callback::VnPay(p) => Callback::VnPay(vnpay::opposite(p)),
                Callback::Stripe(e) => Callback::Stripe(stripe::opposite(e)),
                Callback::PayPal(e) => Callback::PayPal(paypal::opposite(e)),
            };
            vec![sandbox.deliver(&opposite, Delivery::default()).await]
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "action is one of replay, twice, bad-signature, late, out-of-order, dispute, dispute-won, dispute-lost, reverse" })),
            )
                .into_response();
        }
    };
    Json(json!({
        "deliveries": answers
            .into_iter()
            .map(|(status, body)| json!({ "status": status, "body": body }))
            .collect::<Vec<_>>()
    }))
    .into_response()
}

/// A random id of `len` characters from `alphabet`.
fn random_id(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The button pressed on a hosted page: `pay`, `cancel` or `fail`.
#[derive(serde::Deserialize)]
struct Choice {
    action: String,
}

/// A provider's hosted page: what is being paid, and Pay, Cancel and Fail.
fn hosted_page(
    provider: &str,
    action: &str,
    lines: &[(&str, String)],
    hidden: &str,
) -> Html<String> {
    let rows: String = lines
        .iter()
        .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(v)))
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{provider} sandbox</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}}
.note{{background:#fff4d6;border:1px solid #e0c170;padding:.6rem .8rem;border-radius:6px}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}} dt{{color:#555}} dd{{margin:0;font-weight:600}}
form{{display:flex;gap:.6rem;flex-wrap:wrap}} button{{font:inherit;padding:.6rem 1.2rem;border-radius:6px;border:1px solid #888;cursor:pointer}}
button[value=pay]{{background:#1a56db;color:#fff;border-color:#1a56db}}
</style></head>
<body><main>
<h1>{provider} sandbox</h1>
<p class="note">A test payment page built into the billing server. It speaks {provider}'s protocol; no money moves.</p>
<dl>{rows}</dl>
<form method="post" action="{action}">{hidden}
<button type="submit" name="action" value="pay">Pay</button>
<button type="submit" name="action" value="cancel">Cancel</button>
<button type="submit" name="action" value="fail">Fail</button>
</form>
</main></body></html>"#,
        action = escape(action),
    ))
}

/// A plain error page or answer from a provider.
fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Html(format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox error</title></head><body><main><h1>Payment request refused</h1><p>{}</p></main></body></html>", escape(message)))).into_response()
}

/// The `Basic` credentials of a request, decoded.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The `Bearer` token of a request.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_owned)
}
