//! VNPay's side of payment API 2.1.0: the payment page (`vpcpay.html`), which checks
//! the request's `vnp_SecureHash` as VNPay does, and the signed IPN call and return
//! redirect after the customer's choice.

use super::{Callback, Delivery, Sandbox, hosted_page, random_id, refusal};
use app::domain::gateways::vnpay::{
    QUERYDR_ANSWER_SIGNED, VIETNAM, querydr_request_valid, sign, sign_fields, signing_text, verify,
};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::Utc;
use secrecy::SecretString;
use std::collections::BTreeMap;

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/sandbox/vnpay/paymentv2/vpcpay.html",
            get(page).post(choose),
        )
        .route(
            "/sandbox/vnpay/merchant_webapi/api/transaction",
            post(merchant_api),
        )
}

/// The merchant API: `querydr` (what became of a payment), answered and signed as VNPay
/// does, `|`-joined fields under HMAC-SHA512.
async fn merchant_api(
    State(sandbox): State<Sandbox>,
    Json(request): Json<BTreeMap<String, String>>,
) -> Response {
    let config = &sandbox.inner.settings.vnpay;
    let get = |k: &str| request.get(k).cloned().unwrap_or_default();
    let mut answer: BTreeMap<String, String> = BTreeMap::new();
    answer.insert("vnp_ResponseId".into(), random_id(b"0123456789abcdef", 32));
    answer.insert("vnp_Command".into(), get("vnp_Command"));
    answer.insert("vnp_TmnCode".into(), get("vnp_TmnCode"));
    answer.insert("vnp_TxnRef".into(), get("vnp_TxnRef"));
    let code = if !querydr_request_valid(&config.hash_secret, &request) {
        "97"
    } else if get("vnp_TmnCode") != config.tmn_code {
        "02"
    } else if get("vnp_Command") != "querydr" || get("vnp_Version") != "2.1.0" {
        "03"
    } else {
        match sandbox.books().vnpay_results.get(&get("vnp_TxnRef")) {
            None => "91",
            Some(result) => {
                for (k, v) in result {
                    if matches!(
                        k.as_str(),
                        "vnp_Amount"
                            | "vnp_BankCode"
                            | "vnp_PayDate"
                            | "vnp_TransactionNo"
                            | "vnp_TransactionStatus"
                            | "vnp_OrderInfo"
                    ) {
                        answer.insert(k.clone(), v.clone());
                    }
                }
                answer.insert("vnp_TransactionType".into(), "01".into());
                "00"
            }
        }
    };
    answer.insert("vnp_ResponseCode".into(), code.to_owned());
    answer.insert(
        "vnp_Message".into(),
        match code {
            "00" => "QueryDR Success",
            "91" => "Transaction not found",
            "97" => "Invalid Checksum",
            "02" => "Invalid Merchant",
            _ => "Invalid request",
        }
        .to_owned(),
    );
    let hash = sign_fields(&config.hash_secret, &QUERYDR_ANSWER_SIGNED, &answer);
    answer.insert("vnp_SecureHash".into(), hash);
    Json(answer).into_response()
}

fn pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

/// Checks the request as VNPay does: signature, version, terminal, amount.
fn check(sandbox: &Sandbox, raw: &str) -> Result<BTreeMap<String, String>, String> {
    let config = &sandbox.inner.settings.vnpay;
    let query = pairs(raw);
    let params: BTreeMap<String, String> = query
        .iter()
        .filter(|(k, _)| k.starts_with("vnp_") && k != "vnp_SecureHash")
        .cloned()
        .collect();
    let given = query
        .iter()
        .find(|(k, _)| k == "vnp_SecureHash")
        .map(|(_, v)| v.to_lowercase())
        .ok_or("Invalid signature (code 97): vnp_SecureHash is missing.")?;
    if sign(&config.hash_secret, &params) != given {
        return Err("Invalid signature (code 97).".into());
    }
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    if get("vnp_Version") != "2.1.0" || get("vnp_Command") != "pay" {
        return Err("Unsupported version or command (code 03).".into());
    }
    if get("vnp_TmnCode") != config.tmn_code {
        return Err("Unknown merchant terminal (code 02).".into());
    }
    match get("vnp_Amount").parse::<i64>() {
        Ok(a) if a > 0 && a % 100 == 0 => {}
        _ => return Err("Invalid amount (code 04).".into()),
    }
    for k in [
        "vnp_TxnRef",
        "vnp_ReturnUrl",
        "vnp_CreateDate",
        "vnp_IpAddr",
    ] {
        if get(k).is_empty() {
            return Err(format!("{k} is missing (code 03)."));
        }
    }
    let now = Utc::now()
        .with_timezone(&VIETNAM)
        .format("%Y%m%d%H%M%S")
        .to_string();
    if !get("vnp_ExpireDate").is_empty() && get("vnp_ExpireDate") < now {
        return Err("The payment window has expired (code 11).".into());
    }
    Ok(params)
}

async fn page(State(sandbox): State<Sandbox>, RawQuery(raw): RawQuery) -> Response {
    let raw = raw.unwrap_or_default();
    let params = match check(&sandbox, &raw) {
        Ok(p) => p,
        Err(why) => return refusal(StatusCode::BAD_REQUEST, &why),
    };
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let dong = get("vnp_Amount").parse::<i64>().unwrap_or(0) / 100;
    let amount = app::model::money::Money::from_minor(dong, app::model::money::Currency::Vnd);
    hosted_page(
        "VNPay",
        "/sandbox/vnpay/paymentv2/vpcpay.html",
        &[
            ("Merchant", get("vnp_TmnCode")),
            ("Order", get("vnp_OrderInfo")),
            ("Reference", get("vnp_TxnRef")),
            ("Amount", amount.to_string()),
        ],
        &format!(
            r#"<input type="hidden" name="request" value="{}">"#,
            super::escape(&raw)
        ),
    )
    .into_response()
}

#[derive(serde::Deserialize)]
struct Choice {
    /// The signed request the page was opened with, carried through the form.
    request: String,
    action: String,
}

/// What VNPay sends back for a choice: the result parameters, signed on delivery.
fn result(request: &BTreeMap<String, String>, paid: bool, code: &str) -> BTreeMap<String, String> {
    let get = |k: &str| request.get(k).cloned().unwrap_or_default();
    let mut out = BTreeMap::new();
    for (k, v) in [
        ("vnp_Amount", get("vnp_Amount")),
        ("vnp_BankCode", "NCB".to_owned()),
        ("vnp_CardType", "ATM".to_owned()),
        ("vnp_OrderInfo", get("vnp_OrderInfo")),
        (
            "vnp_PayDate",
            Utc::now()
                .with_timezone(&VIETNAM)
                .format("%Y%m%d%H%M%S")
                .to_string(),
        ),
        ("vnp_ResponseCode", code.to_owned()),
        ("vnp_TmnCode", get("vnp_TmnCode")),
        (
            "vnp_TransactionNo",
            if paid {
                random_id(b"0123456789", 8)
            } else {
                "0".to_owned()
            },
        ),
        (
            "vnp_TransactionStatus",
            if paid { "00" } else { "02" }.to_owned(),
        ),
        ("vnp_TxnRef", get("vnp_TxnRef")),
    ] {
        out.insert(k.to_owned(), v);
    }
    if paid {
        out.insert(
            "vnp_BankTranNo".into(),
            format!("VNP{}", random_id(b"0123456789", 8)),
        );
    }
    out
}

/// The same payment with the other outcome: a cancel for a payment, a payment for a
/// cancel.
pub(super) fn opposite(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let paid = params.get("vnp_ResponseCode").is_some_and(|c| c == "00");
    result(params, !paid, if paid { "24" } else { "00" })
}

fn signed_query(secret: &SecretString, params: &BTreeMap<String, String>, how: Delivery) -> String {
    let mut hash = sign(secret, params);
    if how.bad_signature {
        hash = format!(
            "{}{}",
            if hash.starts_with('0') { '1' } else { '0' },
            &hash[1..]
        );
    }
    format!(
        "{}&vnp_SecureHashType=HmacSHA512&vnp_SecureHash={hash}",
        signing_text(params)
    )
}

/// The IPN call: a GET to our IPN URL with the signed result.
pub(super) fn ipn_request(
    sandbox: &Sandbox,
    params: &BTreeMap<String, String>,
    how: Delivery,
) -> reqwest::RequestBuilder {
    let query = signed_query(&sandbox.inner.settings.vnpay.hash_secret, params, how);
    sandbox.inner.http.get(format!(
        "{}/payments/vnpay/ipn?{query}",
        sandbox.inner.our_url
    ))
}

async fn choose(State(sandbox): State<Sandbox>, Form(choice): Form<Choice>) -> Response {
    let request = match check(&sandbox, &choice.request) {
        Ok(p) => p,
        Err(why) => return refusal(StatusCode::BAD_REQUEST, &why),
    };
    let (paid, code) = match choice.action.as_str() {
        "pay" => (true, "00"),
        "cancel" => (false, "24"),
        _ => (false, "51"),
    };
    let params = result(&request, paid, code);
    let reference = request.get("vnp_TxnRef").cloned().unwrap_or_default();
    sandbox
        .books()
        .vnpay_results
        .insert(reference.clone(), params.clone());
    // VNPay calls the IPN, then sends the customer back.
    sandbox
        .send(&reference, Callback::VnPay(params.clone()))
        .await;
    let back = signed_query(
        &sandbox.inner.settings.vnpay.hash_secret,
        &params,
        Delivery::default(),
    );
    debug_assert!(verify(&sandbox.inner.settings.vnpay.hash_secret, &pairs(&back)).is_ok());
    let return_url = request.get("vnp_ReturnUrl").cloned().unwrap_or_default();
    Redirect::to(&format!("{return_url}?{back}")).into_response()
}
