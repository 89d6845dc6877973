//! VNPay signing and verification against vectors computed independently by
//! `fixtures/gateway_vectors.py` (Python's hmac and urllib).
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use app::domain::gateways::vnpay::{self, IpnAnswer, PaymentRequest, VnPayConfig, VnPayError};
use app::model::money::{Currency, Money};
use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use serde_json::Value;
use std::collections::BTreeMap;

fn vectors() -> Value {
    serde_json::from_str(include_str!("fixtures/gateway_vectors.json")).unwrap()
}

fn params(v: &Value) -> BTreeMap<String, String> {
    v["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn secret(v: &Value) -> SecretString {
    SecretString::from(v["secret"].as_str().unwrap().to_owned())
}

#[test]
fn signing_matches_the_independent_vectors() {
    let all = vectors();
    for name in ["vnpay_payment", "vnpay_ipn"] {
        let v = &all[name];
        assert_eq!(
            vnpay::signing_text(&params(v)),
            v["signing_text"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            vnpay::sign(&secret(v), &params(v)),
            v["hash"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn the_payment_url_carries_amount_times_100_gmt7_dates_and_the_signature() {
    let v = &vectors()["vnpay_payment"];
    let config = VnPayConfig {
        tmn_code: "DEMOSHOP".into(),
        hash_secret: secret(v),
        pay_url: "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html".into(),
        return_url: "http://127.0.0.1:3000/billing/top-up/return/vnpay".into(),
        api_url: "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction".into(),
    };
    let created = Utc.with_ymd_and_hms(2026, 11, 24, 11, 0, 0).unwrap(); // 18:00 in GMT+7
    let request = PaymentRequest {
        reference: "TU-7Q2K9X4M1B",
        amount: Money::from_minor(500_000, Currency::Vnd),
        order_info: "Credit top-up TU-7Q2K9X4M1B: 500,000 VND",
        client_ip: "127.0.0.1",
        created_at: created,
        expires_at: created + chrono::Duration::minutes(15),
    };
    let url = vnpay::payment_url(&config, &request).unwrap();
    let expected = format!(
        "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?{}&vnp_SecureHash={}",
        v["signing_text"].as_str().unwrap(),
        v["hash"].as_str().unwrap()
    );
    assert_eq!(url, expected);
    let usd = PaymentRequest {
        amount: Money::from_minor(2_500, Currency::Usd),
        ..request
    };
    assert!(vnpay::payment_url(&config, &usd).is_err());
    assert!(
        !format!("{config:?}").contains("SECRETKEY"),
        "the secret never prints"
    );
}

fn ipn_query(v: &Value, change: impl Fn(&mut BTreeMap<String, String>)) -> Vec<(String, String)> {
    let mut p = params(v);
    change(&mut p);
    let mut q: Vec<(String, String)> = p.into_iter().collect();
    q.push(("vnp_SecureHashType".into(), "HmacSHA512".into()));
    q.push(("vnp_SecureHash".into(), v["hash"].as_str().unwrap().into()));
    q
}

#[test]
fn a_genuine_ipn_verifies_and_reads_back() {
    let v = &vectors()["vnpay_ipn"];
    let callback = vnpay::verify(&secret(v), &ipn_query(v, |_| {})).unwrap();
    assert_eq!(callback.reference, "TU-7Q2K9X4M1B");
    assert_eq!(callback.amount, Money::from_minor(500_000, Currency::Vnd));
    assert!(callback.paid);
    assert_eq!(callback.transaction_no.as_deref(), Some("14226112"));
}

#[test]
fn forged_or_altered_ipns_are_refused() {
    let v = &vectors()["vnpay_ipn"];
    let altered = ipn_query(v, |p| {
        p.insert("vnp_Amount".into(), "5000000000".into());
    });
    assert_eq!(
        vnpay::verify(&secret(v), &altered),
        Err(VnPayError::BadSignature)
    );
    let wrong_key = SecretString::from("another-secret".to_owned());
    assert_eq!(
        vnpay::verify(&wrong_key, &ipn_query(v, |_| {})),
        Err(VnPayError::BadSignature)
    );
    let unsigned: Vec<(String, String)> = params(v).into_iter().collect();
    assert_eq!(
        vnpay::verify(&secret(v), &unsigned),
        Err(VnPayError::BadSignature)
    );
}

#[test]
fn ipn_answers_use_vnpays_codes() {
    assert_eq!(
        IpnAnswer::Confirmed.body(),
        r#"{"RspCode":"00","Message":"Confirm Success"}"#
    );
    assert!(IpnAnswer::OrderNotFound.body().contains("\"01\""));
    assert!(IpnAnswer::AlreadyConfirmed.body().contains("\"02\""));
    assert!(IpnAnswer::InvalidAmount.body().contains("\"04\""));
    assert!(IpnAnswer::InvalidSignature.body().contains("\"97\""));
    assert!(IpnAnswer::Other.body().contains("\"99\""));
}
