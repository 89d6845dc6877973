//! Stripe webhook verification and Checkout Session fields, against vectors computed
//! independently by `fixtures/gateway_vectors.py`.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use app::domain::gateways::stripe::{self, WebhookError};
use app::model::money::{Currency, Money};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde_json::Value;

fn vector() -> Value {
    let all: Value = serde_json::from_str(include_str!("fixtures/gateway_vectors.json")).unwrap();
    all["stripe_webhook"].clone()
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::from_timestamp(v["timestamp"].as_i64().unwrap(), 0).unwrap()
}

fn secret(v: &Value) -> SecretString {
    SecretString::from(v["secret"].as_str().unwrap().to_owned())
}

#[test]
fn a_genuine_signature_verifies_within_the_tolerance() {
    let v = vector();
    let body = v["body"].as_str().unwrap().as_bytes();
    let header = v["header"].as_str().unwrap();
    assert_eq!(
        stripe::verify_webhook(&secret(&v), header, body, at(&v)),
        Ok(())
    );
    assert_eq!(
        stripe::verify_webhook(&secret(&v), header, body, at(&v) + Duration::seconds(300)),
        Ok(())
    );
    // Several v1 values (a rotated secret): any match will do.
    let rotated = format!(
        "t={},v1={},v1={}",
        v["timestamp"],
        "00".repeat(32),
        v["signature"].as_str().unwrap()
    );
    assert_eq!(
        stripe::verify_webhook(&secret(&v), &rotated, body, at(&v)),
        Ok(())
    );
}

#[test]
fn forged_altered_and_stale_webhooks_are_refused() {
    let v = vector();
    let body = v["body"].as_str().unwrap();
    let header = v["header"].as_str().unwrap();
    let altered = body.replace("3000", "30000");
    assert_eq!(
        stripe::verify_webhook(&secret(&v), header, altered.as_bytes(), at(&v)),
        Err(WebhookError::BadSignature)
    );
    let other = SecretString::from("whsec_other".to_owned());
    assert_eq!(
        stripe::verify_webhook(&other, header, body.as_bytes(), at(&v)),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        stripe::verify_webhook(
            &secret(&v),
            header,
            body.as_bytes(),
            at(&v) + Duration::seconds(301)
        ),
        Err(WebhookError::Stale(301))
    );
    assert_eq!(
        stripe::verify_webhook(&secret(&v), "v1=abc", body.as_bytes(), at(&v)),
        Err(WebhookError::MalformedHeader)
    );
    assert_eq!(
        stripe::verify_webhook(&secret(&v), "", body.as_bytes(), at(&v)),
        Err(WebhookError::MalformedHeader)
    );
}

#[test]
fn the_event_reads_back_in_yen_which_has_no_decimals() {
    let v = vector();
    let session = stripe::completed_session(v["body"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(session.reference, "TU-7Q2K9X4M1B");
    assert_eq!(session.amount, Money::from_minor(3_000, Currency::Jpy));
    assert_eq!(session.amount.to_string(), "¥3,000");
    assert!(session.paid);
    assert_eq!(session.event_id, "evt_1QxYtest");
    assert!(
        stripe::completed_session(
            br#"{"id":"evt_2","type":"charge.refunded","data":{"object":{}}}"#
        )
        .is_none()
    );
}

#[test]
fn checkout_session_amounts_are_in_stripes_units() {
    let yen = stripe::checkout_session_form(
        Money::from_minor(3_000, Currency::Jpy),
        "TU-1",
        "https://s",
        "https://c",
    )
    .unwrap();
    let get =
        |f: &[(String, String)], k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get(&yen, "line_items[0][price_data][unit_amount]").as_deref(),
        Some("3000")
    );
    assert_eq!(
        get(&yen, "line_items[0][price_data][currency]").as_deref(),
        Some("jpy")
    );
    assert_eq!(get(&yen, "client_reference_id").as_deref(), Some("TU-1"));
    let dollars =
        stripe::checkout_session_form(Money::from_minor(2_500, Currency::Usd), "TU-2", "s", "c")
            .unwrap();
    assert_eq!(
        get(&dollars, "line_items[0][price_data][unit_amount]").as_deref(),
        Some("2500")
    );
}
