//! PayPal's side: `POST /v1/oauth2/token` (client credentials), Orders v2 (create with
//! `PayPal-Request-Id`, the approval page, capture), the `PAYMENT.CAPTURE.COMPLETED`
//! webhook (and, on the test controls, `PAYMENT.CAPTURE.REVERSED` and
//! `CUSTOMER.DISPUTE.CREATED` / `RESOLVED`) with PayPal's transmission headers, and
//! `POST /v1/notifications/verify-webhook-signature`.

use super::{
    ALNUM, Callback, Choice, Delivery, Sandbox, UPPER_DIGITS, basic_auth, bearer, hosted_page,
    random_id, refusal,
};
use app::domain::gateways::paypal::read_amount;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An order as the sandbox keeps it.
#[derive(Clone, Debug)]
pub(super) struct Order {
    body: Value,
    return_url: String,
    cancel_url: String,
    /// The payer chose Fail: the capture will be declined.
    declined: bool,
}

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/paypal/v1/oauth2/token", post(token))
        .route("/sandbox/paypal/v2/checkout/orders", post(create_order))
        .route("/sandbox/paypal/v2/checkout/orders/{id}", get(show_order))
        .route(
            "/sandbox/paypal/v2/checkout/orders/{id}/capture",
            post(capture),
        )
        .route(
            "/sandbox/paypal/v1/notifications/verify-webhook-signature",
            post(verify_signature),
        )
        .route("/sandbox/paypal/checkoutnow", get(page).post(choose))
}

fn api_error(status: StatusCode, name: &str, issue: &str, description: &str) -> Response {
    (
        status,
        Json(json!({
            "name": name,
            "message": description,
            "details": [{ "issue": issue, "description": description }],
        })),
    )
        .into_response()
}

fn authorized(sandbox: &Sandbox, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| sandbox.books().paypal_tokens.contains(&t))
}

fn unauthorized() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "AUTHENTICATION_FAILURE",
        "INVALID_TOKEN",
        "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
    )
}

async fn token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let config = &sandbox.inner.settings.paypal;
    let good = basic_auth(&headers).is_some_and(|(id, secret)| {
        id == config.client_id && secret == config.client_secret.expose_secret()
    });
    if !good {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client", "error_description": "Client Authentication failed" })),
        )
            .into_response();
    }
    if !form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "unsupported_grant_type", "error_description": "Grant Type is NULL" })),
        )
            .into_response();
    }
    let access = format!("A21AA{}", random_id(ALNUM, 40));
    sandbox.books().paypal_tokens.push(access.clone());
    Json(json!({
        "scope": "https://uri.paypal.com/services/payments/payment",
        "access_token": access,
        "token_type": "Bearer",
        "app_id": "APP-SANDBOX",
        "expires_in": 32400,
        "nonce": random_id(ALNUM, 20),
    }))
    .into_response()
}

/// Answers a repeated `PayPal-Request-Id` with the first answer, as PayPal does.
fn replayed(sandbox: &Sandbox, headers: &HeaderMap) -> (Option<String>, Option<Response>) {
    let id = headers
        .get("paypal-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let earlier = id
        .as_ref()
        .and_then(|k| sandbox.books().paypal_request_ids.get(k).cloned());
    let response = earlier.map(|(status, body)| {
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            Json(body),
        )
            .into_response()
    });
    (id, response)
}

fn answer(
    sandbox: &Sandbox,
    request_id: Option<String>,
    status: StatusCode,
    body: Value,
) -> Response {
    if let Some(id) = request_id {
        sandbox
            .books()
            .paypal_request_ids
            .insert(id, (status.as_u16(), body.clone()));
    }
    (status, Json(body)).into_response()
}

async fn create_order(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return unauthorized();
    }
    let (request_id, earlier) = replayed(&sandbox, &headers);
    if let Some(earlier) = earlier {
        return earlier;
    }
    if request["intent"] != "CAPTURE" {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "INVALID_PARAMETER_VALUE",
            "intent must be CAPTURE here.",
        );
    }
    let unit = &request["purchase_units"][0];
    if read_amount(&unit["amount"]).is_none() {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "INVALID_PARAMETER_VALUE",
            "purchase_units[0].amount is invalid.",
        );
    }
    let context = &request["payment_source"]["paypal"]["experience_context"];
    let (Some(return_url), Some(cancel_url)) = (
        context["return_url"].as_str(),
        context["cancel_url"].as_str(),
    ) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "MISSING_REQUIRED_PARAMETER",
            "return_url and cancel_url are required.",
        );
    };
    let id = random_id(UPPER_DIGITS, 17);
    let body = json!({
        "id": id,
        "status": "PAYER_ACTION_REQUIRED",
        "intent": "CAPTURE",
        "purchase_units": [unit],
        "links": [
            { "href": format!("{}/sandbox/paypal/v2/checkout/orders/{id}", sandbox.inner.our_url), "rel": "self", "method": "GET" },
            { "href": format!("{}/sandbox/paypal/checkoutnow?token={id}", sandbox.inner.our_url), "rel": "payer-action", "method": "GET" },
        ],
    });
    sandbox.books().paypal_orders.insert(
        id,
        Order {
            body: body.clone(),
            return_url: return_url.to_owned(),
            cancel_url: cancel_url.to_owned(),
            declined: false,
        },
    );
    answer(&sandbox, request_id, StatusCode::OK, body)
}

#[derive(serde::Deserialize)]
struct Token {
    token: String,
}

async fn page(State(sandbox): State<Sandbox>, Query(q): Query<Token>) -> Response {
    let Some(order) = sandbox.books().paypal_orders.get(&q.token).cloned() else {
        return refusal(StatusCode::NOT_FOUND, "This order does not exist.");
    };
    if order.body["status"] != "PAYER_ACTION_REQUIRED" {
        return refusal(
            StatusCode::GONE,
            "This order was already approved or closed.",
        );
    }
    let unit = &order.body["purchase_units"][0];
    let amount = read_amount(&unit["amount"])
        .map(|m| m.to_string())
        .unwrap_or_default();
    hosted_page(
        "PayPal",
        &format!("/sandbox/paypal/checkoutnow?token={}", q.token),
        &[
            (
                "Reference",
                unit["reference_id"].as_str().unwrap_or_default().to_owned(),
            ),
            ("Amount", amount),
        ],
        "",
    )
    .into_response()
}

async fn choose(
    State(sandbox): State<Sandbox>,
    Query(q): Query<Token>,
    Form(choice): Form<Choice>,
) -> Response {
    let order = {
        let mut books = sandbox.books();
        let Some(order) = books.paypal_orders.get_mut(&q.token) else {
            return refusal(StatusCode::NOT_FOUND, "This order does not exist.");
        };
        if order.body["status"] != "PAYER_ACTION_REQUIRED" {
            return refusal(
                StatusCode::GONE,
                "This order was already approved or closed.",
            );
        }
        if choice.action != "cancel" {
            order.body["status"] = json!("APPROVED");
            order.declined = choice.action == "fail";
        }
        order.clone()
    };
    let join = |url: &str| if url.contains('?') { '&' } else { '?' };
    if choice.action == "cancel" {
        return Redirect::to(&format!(
            "{}{}token={}",
            order.cancel_url,
            join(&order.cancel_url),
            q.token
        ))
        .into_response();
    }
    Redirect::to(&format!(
        "{}{}token={}&PayerID={}",
        order.return_url,
        join(&order.return_url),
        q.token,
        random_id(UPPER_DIGITS, 13)
    ))
    .into_response()
}

/// `GET /v2/checkout/orders/{id}`: the order as it stands.
async fn show_order(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return unauthorized();
    }
    match sandbox.books().paypal_orders.get(&id) {
        Some(order) => Json(order.body.clone()).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist.",
        ),
    }
}

async fn capture(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return unauthorized();
    }
    let (request_id, earlier) = replayed(&sandbox, &headers);
    if let Some(earlier) = earlier {
        return earlier;
    }
    let Some(order) = sandbox.books().paypal_orders.get(&id).cloned() else {
        return api_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist.",
        );
    };
    match order.body["status"].as_str() {
        Some("APPROVED") => {}
        Some("COMPLETED") => {
            return api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "ORDER_ALREADY_CAPTURED",
                "Order already captured.",
            );
        }
        _ => {
            return api_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNPROCESSABLE_ENTITY",
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment.",
            );
        }
    }
    if order.declined {
        let refused = api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "INSTRUMENT_DECLINED",
            "The instrument presented was declined.",
        );
        return refused;
    }
    let unit = &order.body["purchase_units"][0];
    let capture = json!({
        "id": random_id(UPPER_DIGITS, 17),
        "status": "COMPLETED",
        "amount": unit["amount"],
        "custom_id": unit["custom_id"],
        "invoice_id": unit["invoice_id"],
        "final_capture": true,
        "supplementary_data": { "related_ids": { "order_id": id } },
    });
    let mut completed = order.body.clone();
    completed["status"] = json!("COMPLETED");
    completed["purchase_units"][0]["payments"] = json!({ "captures": [capture] });
    if let Some(o) = sandbox.books().paypal_orders.get_mut(&id) {
        o.body = completed.clone();
    }
    // PayPal then announces the capture to the webhook, independently of our call.
    let reference = unit["custom_id"].as_str().unwrap_or_default().to_owned();
    let event = capture_event("PAYMENT.CAPTURE.COMPLETED", &capture);
    let later = sandbox.clone();
    tokio::spawn(async move {
        later.send(&reference, Callback::PayPal(event)).await;
    });
    answer(&sandbox, request_id, StatusCode::CREATED, completed)
}

fn capture_event(kind: &str, capture: &Value) -> Value {
    json!({
        "id": format!("WH-{}", random_id(UPPER_DIGITS, 17)),
        "event_version": "1.0",
        "create_time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "resource_type": "capture",
        "event_type": kind,
        "summary": format!("Payment {}", kind.rsplit('.').next().unwrap_or_default().to_lowercase()),
        "resource": capture,
    })
}

/// The same capture with the other outcome.
pub(super) fn opposite(event: &Value) -> Value {
    let mut capture = event["resource"].clone();
    if event["event_type"] == "PAYMENT.CAPTURE.COMPLETED" {
        capture["status"] = json!("DECLINED");
        capture_event("PAYMENT.CAPTURE.DENIED", &capture)
    } else {
        capture["status"] = json!("COMPLETED");
        capture_event("PAYMENT.CAPTURE.COMPLETED", &capture)
    }
}

/// A dispute about the captured payment of `event` (a `PAYMENT.CAPTURE.COMPLETED`), as
/// PayPal reports one: `reverse` (`PAYMENT.CAPTURE.REVERSED`, the capture reversed by
/// the payer's bank), `dispute` (`CUSTOMER.DISPUTE.CREATED`), `dispute-won` and
/// `dispute-lost` (`CUSTOMER.DISPUTE.RESOLVED` in the seller's or the buyer's favour).
pub(super) fn dispute(event: &Value, action: &str) -> Option<Value> {
    let capture = &event["resource"];
    if event["event_type"] != "PAYMENT.CAPTURE.COMPLETED" {
        return None;
    }
    let capture_id = capture["id"].as_str()?;
    let dispute = |status: &str, outcome: Option<&str>| {
        let mut d = json!({
            "dispute_id": format!("PP-D-{capture_id}"),
            "reason": "UNAUTHORISED",
            "status": status,
            "dispute_amount": capture["amount"],
            "disputed_transactions": [{
                "seller_transaction_id": capture_id,
                "custom": capture["custom_id"],
                "invoice_number": capture["invoice_id"],
            }],
        });
        if let Some(code) = outcome {
            d["dispute_outcome"] = json!({ "outcome_code": code });
        }
        d
    };
    let (kind, resource, resource_type) = match action {
        "reverse" => {
            let mut reversed = capture.clone();
            reversed["status"] = json!("REVERSED");
            reversed["status_details"] = json!({ "reason": "CHARGEBACK" });
            ("PAYMENT.CAPTURE.REVERSED", reversed, "capture")
        }
        "dispute" => ("CUSTOMER.DISPUTE.CREATED", dispute("OPEN", None), "dispute"),
        "dispute-won" => (
            "CUSTOMER.DISPUTE.RESOLVED",
            dispute("RESOLVED", Some("RESOLVED_SELLER_FAVOUR")),
            "dispute",
        ),
        "dispute-lost" => (
            "CUSTOMER.DISPUTE.RESOLVED",
            dispute("RESOLVED", Some("RESOLVED_BUYER_FAVOUR")),
            "dispute",
        ),
        _ => return None,
    };
    let mut made = capture_event(kind, &resource);
    made["resource_type"] = json!(resource_type);
    Some(made)
}

/// The sandbox's signature: HMAC-SHA256 under its own key over
/// `transmission_id|transmission_time|webhook_id|sha256(body)` (PayPal's real one is
/// RSA over the same fields with a CRC32 of the body).
fn signature(sandbox: &Sandbox, id: &str, time: &str, webhook_id: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(sandbox.inner.paypal_signing_key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(
        format!(
            "{id}|{time}|{webhook_id}|{}",
            hex::encode(Sha256::digest(body))
        )
        .as_bytes(),
    );
    hex::encode(mac.finalize().into_bytes())
}

/// The webhook call with PayPal's transmission headers.
pub(super) fn webhook_request(
    sandbox: &Sandbox,
    event: &Value,
    how: Delivery,
) -> reqwest::RequestBuilder {
    // Pretty-printed, as no re-serialisation would write it: a client that verifies
    // anything but the bytes it received fails here, as it would against PayPal.
    let body = serde_json::to_string_pretty(event).unwrap_or_default();
    let id = uuid::Uuid::new_v4().to_string();
    let time = (chrono::Utc::now() - chrono::Duration::seconds(how.aged))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut sig = signature(
        sandbox,
        &id,
        &time,
        &sandbox.inner.settings.paypal.webhook_id,
        &body,
    );
    if how.bad_signature {
        sig = sig.chars().rev().collect();
    }
    sandbox
        .inner
        .http
        .post(format!("{}/payments/paypal/webhook", sandbox.inner.our_url))
        .header("Content-Type", "application/json")
        .header("PAYPAL-TRANSMISSION-ID", id)
        .header("PAYPAL-TRANSMISSION-TIME", time)
        .header("PAYPAL-TRANSMISSION-SIG", sig)
        .header("PAYPAL-AUTH-ALGO", "HmacSHA256")
        .header(
            "PAYPAL-CERT-URL",
            format!("{}/sandbox/paypal/certs/sandbox", sandbox.inner.our_url),
        )
        .body(body)
}

/// PayPal's verify-webhook-signature request, with the event exactly as sent.
#[derive(serde::Deserialize)]
struct VerifyCheck<'a> {
    auth_algo: String,
    transmission_id: String,
    transmission_sig: String,
    transmission_time: String,
    webhook_id: String,
    #[serde(borrow)]
    webhook_event: &'a serde_json::value::RawValue,
}

async fn verify_signature(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&sandbox, &headers) {
        return unauthorized();
    }
    let Ok(check) = serde_json::from_slice::<VerifyCheck<'_>>(&body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "INVALID_REQUEST",
            "The request is not a verify-webhook-signature request.",
        );
    };
    // The signature covers the bytes PayPal sent, so the event must come back as it was.
    let expected = signature(
        &sandbox,
        &check.transmission_id,
        &check.transmission_time,
        &check.webhook_id,
        check.webhook_event.get(),
    );
    let good = check.webhook_id == sandbox.inner.settings.paypal.webhook_id
        && check.auth_algo == "HmacSHA256"
        && expected == check.transmission_sig;
    Json(json!({ "verification_status": if good { "SUCCESS" } else { "FAILURE" } })).into_response()
}
