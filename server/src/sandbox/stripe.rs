//! Stripe's side: `POST /v1/checkout/sessions` (secret key as Basic user, form fields,
//! `Idempotency-Key`), `POST /v1/checkout/sessions/{id}/expire`, the hosted checkout
//! page, `GET /v1/payment_intents/{id}`, and the signed webhook (`Stripe-Signature:
//! t=…,v1=…`, HMAC-SHA256 of `t.body`), including `charge.dispute.*` on the test
//! controls.

use super::{
    ALNUM, Callback, Choice, Delivery, Sandbox, basic_auth, hosted_page, random_id, refusal,
};
use app::model::money::{Currency, Money};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/stripe/v1/checkout/sessions", post(create_session))
        .route(
            "/sandbox/stripe/v1/checkout/sessions/{id}",
            get(retrieve_session),
        )
        .route(
            "/sandbox/stripe/v1/checkout/sessions/{id}/expire",
            post(expire_session),
        )
        .route("/sandbox/stripe/pay/{id}", get(page).post(choose))
        .route(
            "/sandbox/stripe/v1/payment_intents/{id}",
            get(retrieve_payment_intent),
        )
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "type": "invalid_request_error", "message": message } })),
    )
        .into_response()
}

fn authorized(sandbox: &Sandbox, headers: &HeaderMap) -> bool {
    basic_auth(headers)
        .is_some_and(|(user, _)| user == sandbox.inner.settings.stripe.secret_key.expose_secret())
}

async fn create_session(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return api_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided.");
    }
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &idempotency {
        let books = sandbox.books();
        if let Some(session) = books
            .stripe_idempotency
            .get(key)
            .and_then(|id| books.stripe_sessions.get(id))
        {
            return Json(session.clone()).into_response();
        }
    }
    let fields: HashMap<String, String> = form.into_iter().collect();
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if field("mode") != "payment" {
        return api_error(StatusCode::BAD_REQUEST, "mode must be payment.");
    }
    let Some(currency) =
        Currency::from_code(&field("line_items[0][price_data][currency]").to_uppercase())
    else {
        return api_error(StatusCode::BAD_REQUEST, "Invalid currency.");
    };
    let (Ok(unit), Ok(quantity)) = (
        field("line_items[0][price_data][unit_amount]").parse::<i64>(),
        field("line_items[0][quantity]").parse::<i64>(),
    ) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "Invalid integer: unit_amount or quantity.",
        );
    };
    if unit <= 0 || quantity <= 0 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "unit_amount and quantity must be positive.",
        );
    }
    for k in ["success_url", "cancel_url"] {
        if !field(k).starts_with("http") {
            return api_error(StatusCode::BAD_REQUEST, &format!("Not a valid URL: {k}."));
        }
    }
    let now = chrono::Utc::now().timestamp();
    let expires_at = field("expires_at")
        .parse::<i64>()
        .unwrap_or(now + 24 * 3600);
    if expires_at < now + 30 * 60 - 5 || expires_at > now + 24 * 3600 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "expires_at must be between 30 minutes and 24 hours from now.",
        );
    }
    let id = format!("cs_test_{}", random_id(ALNUM, 24));
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "payment_status": "unpaid",
        "amount_total": unit * quantity,
        "currency": currency.code().to_lowercase(),
        "client_reference_id": field("client_reference_id"),
        "metadata": { "reference": field("metadata[reference]") },
        "success_url": field("success_url"),
        "cancel_url": field("cancel_url"),
        "expires_at": expires_at,
        "payment_intent": null,
        "url": format!("{}/sandbox/stripe/pay/{id}", sandbox.inner.our_url),
    });
    let mut books = sandbox.books();
    // What Stripe copies onto the session's PaymentIntent when it is paid.
    books.stripe_intent_metadata.insert(
        id.clone(),
        json!({ "reference": field("payment_intent_data[metadata][reference]") }),
    );
    books.stripe_sessions.insert(id.clone(), session.clone());
    if let Some(key) = idempotency {
        books.stripe_idempotency.insert(key, id);
    }
    Json(session).into_response()
}

/// `GET /v1/checkout/sessions/{id}`: the session as it stands.
async fn retrieve_session(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return api_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided.");
    }
    match sandbox.books().stripe_sessions.get(&id) {
        Some(session) => Json(session.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "No such checkout.session."),
    }
}

/// An event about a session, as Stripe sends it.
fn event(kind: &str, session: &Value) -> Value {
    json!({
        "id": format!("evt_{}", random_id(ALNUM, 24)),
        "object": "event",
        "type": kind,
        "created": chrono::Utc::now().timestamp(),
        "data": { "object": session },
    })
}

/// Expires an open session and tells our webhook, as Stripe does: `announce_now`
/// waits for the webhook's answer, otherwise it goes out in the background (as after
/// the API call, whose answer Stripe does not hold back for its webhooks).
async fn expire(sandbox: &Sandbox, id: &str, announce_now: bool) -> Result<Value, &'static str> {
    let session = {
        let mut books = sandbox.books();
        let Some(session) = books.stripe_sessions.get_mut(id) else {
            return Err("No such checkout.session.");
        };
        if session["status"] != "open" {
            return Err("Only Checkout Sessions with a status of open can be expired.");
        }
        session["status"] = json!("expired");
        session.clone()
    };
    let reference = session["client_reference_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let callback = Callback::Stripe(event("checkout.session.expired", &session));
    if announce_now {
        sandbox.send(&reference, callback).await;
    } else {
        let later = sandbox.clone();
        tokio::spawn(async move { later.send(&reference, callback).await });
    }
    Ok(session)
}

async fn expire_session(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return api_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided.");
    }
    match expire(&sandbox, &id, false).await {
        Ok(session) => Json(session).into_response(),
        Err(why) => api_error(StatusCode::BAD_REQUEST, why),
    }
}

/// An open session, or why there is none (the page Stripe shows instead).
fn open_session(sandbox: &Sandbox, id: &str) -> Result<Value, (StatusCode, &'static str)> {
    let Some(session) = sandbox.books().stripe_sessions.get(id).cloned() else {
        return Err((
            StatusCode::NOT_FOUND,
            "This checkout session does not exist.",
        ));
    };
    if session["status"] != "open" {
        return Err((StatusCode::GONE, "This checkout session is no longer open."));
    }
    Ok(session)
}

async fn page(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    let session = match open_session(&sandbox, &id) {
        Ok(s) => s,
        Err((status, why)) => return refusal(status, why),
    };
    let currency = Currency::from_code(
        &session["currency"]
            .as_str()
            .unwrap_or_default()
            .to_uppercase(),
    );
    let amount = currency
        .map(|c| Money::from_minor(session["amount_total"].as_i64().unwrap_or(0), c).to_string());
    hosted_page(
        "Stripe",
        &format!("/sandbox/stripe/pay/{id}"),
        &[
            (
                "Reference",
                session["client_reference_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            ("Amount", amount.unwrap_or_default()),
            ("Card", "Visa, Mastercard, JCB, American Express".to_owned()),
        ],
        "",
    )
    .into_response()
}

async fn choose(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    Form(choice): Form<Choice>,
) -> Response {
    let session = match open_session(&sandbox, &id) {
        Ok(s) => s,
        Err((status, why)) => return refusal(status, why),
    };
    let cancel_url = session["cancel_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match choice.action.as_str() {
        "pay" => {
            let paid = {
                let mut books = sandbox.books();
                let Some(s) = books.stripe_sessions.get_mut(&id) else {
                    return refusal(
                        StatusCode::NOT_FOUND,
                        "This checkout session does not exist.",
                    );
                };
                s["status"] = json!("complete");
                s["payment_status"] = json!("paid");
                let intent = format!("pi_{}", random_id(ALNUM, 24));
                s["payment_intent"] = json!(intent);
                let paid = s.clone();
                let metadata = books.stripe_intent_metadata.get(&id).cloned();
                books.stripe_intents.insert(
                    intent.clone(),
                    json!({
                        "id": intent,
                        "object": "payment_intent",
                        "status": "succeeded",
                        "amount": paid["amount_total"],
                        "currency": paid["currency"],
                        "metadata": metadata.unwrap_or_else(|| json!({})),
                    }),
                );
                paid
            };
            let reference = paid["client_reference_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            sandbox
                .send(
                    &reference,
                    Callback::Stripe(event("checkout.session.completed", &paid)),
                )
                .await;
            let success = paid["success_url"]
                .as_str()
                .unwrap_or_default()
                .replace("{CHECKOUT_SESSION_ID}", &id);
            Redirect::to(&success).into_response()
        }
        "cancel" => Redirect::to(&cancel_url).into_response(),
        _ => {
            // Declined: the session closes (see the module notes) and the customer
            // goes back.
            if let Err(why) = expire(&sandbox, &id, true).await {
                return refusal(StatusCode::CONFLICT, why);
            }
            Redirect::to(&cancel_url).into_response()
        }
    }
}

/// `GET /v1/payment_intents/{id}`: a paid session's PaymentIntent, with the metadata
/// its session asked for (`payment_intent_data[metadata]`).
async fn retrieve_payment_intent(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return api_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided.");
    }
    match sandbox.books().stripe_intents.get(&id) {
        Some(intent) => Json(intent.clone()).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "No such payment_intent."),
    }
}

/// A dispute on the payment of `completed` (a `checkout.session.completed`), as Stripe
/// reports one: `dispute` (`charge.dispute.created`), `dispute-won` and `dispute-lost`
/// (`charge.dispute.closed` with status `won` or `lost`).
pub(super) fn dispute(completed: &Value, action: &str) -> Option<Value> {
    let session = &completed["data"]["object"];
    if completed["type"] != "checkout.session.completed" {
        return None;
    }
    let intent = session["payment_intent"].as_str()?;
    let (kind, status) = match action {
        "dispute" => ("charge.dispute.created", "needs_response"),
        "dispute-won" => ("charge.dispute.closed", "won"),
        "dispute-lost" => ("charge.dispute.closed", "lost"),
        _ => return None,
    };
    let suffix = intent.trim_start_matches("pi_");
    let dispute = json!({
        "id": format!("dp_{suffix}"),
        "object": "dispute",
        "amount": session["amount_total"],
        "currency": session["currency"],
        "charge": format!("ch_{suffix}"),
        "payment_intent": intent,
        "reason": "fraudulent",
        "status": status,
    });
    Some(json!({
        "id": format!("evt_{}", random_id(ALNUM, 24)),
        "object": "event",
        "type": kind,
        "created": chrono::Utc::now().timestamp(),
        "data": { "object": dispute },
    }))
}

/// The same session with the other outcome.
pub(super) fn opposite(event_json: &Value) -> Value {
    let mut session = event_json["data"]["object"].clone();
    if event_json["type"] == "checkout.session.completed" {
        session["status"] = json!("expired");
        session["payment_status"] = json!("unpaid");
        event("checkout.session.expired", &session)
    } else {
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        event("checkout.session.completed", &session)
    }
}

/// The webhook call: the event as the body, signed in `Stripe-Signature`.
pub(super) fn webhook_request(
    sandbox: &Sandbox,
    event: &Value,
    how: Delivery,
) -> reqwest::RequestBuilder {
    let body = event.to_string();
    let t = chrono::Utc::now().timestamp() - how.aged;
    let mut mac = Hmac::<Sha256>::new_from_slice(
        sandbox
            .inner
            .settings
            .stripe
            .webhook_secret
            .expose_secret()
            .as_bytes(),
    )
    .expect("HMAC takes keys of any length");
    mac.update(format!("{t}.{body}").as_bytes());
    let mut signature = hex::encode(mac.finalize().into_bytes());
    if how.bad_signature {
        signature = signature.chars().rev().collect();
    }
    sandbox
        .inner
        .http
        .post(format!("{}/payments/stripe/webhook", sandbox.inner.our_url))
        .header("Stripe-Signature", format!("t={t},v1={signature}"))
        .header("Content-Type", "application/json")
        .body(body)
}
