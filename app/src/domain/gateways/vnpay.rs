//! VNPay, payment API 2.1.0: the signed payment URL, and the signed return / IPN call.
//!
//! Signing: the `vnp_*` parameters sorted by name, each name and value form-URL-encoded
//! (space as `+`), joined as a query string; `vnp_SecureHash` is the hex HMAC-SHA512 of
//! that string under the merchant's hash secret. Amounts are sent ×100 (VNPay's unit is
//! 1/100 đồng); dates are `yyyyMMddHHmmss` in GMT+7.
//!
//! The return URL is verified but only used to show the outcome; the IPN call is the
//! source of truth and is answered with VNPay's JSON `RspCode`. Before the expiry job
//! gives up on a payment it asks VNPay's `querydr` API (JSON over HTTPS, signed with
//! HMAC-SHA512 over the `|`-joined fields in VNPay's fixed order, the answer likewise).

use super::failure::Failure;
use super::{
    Answer, Checkout, Event, GatewayError, Heard, Notice, Notification, PaymentGateway, Started,
};
use crate::domain::entities::payment as payment_row;
use crate::domain::payment::{Outcome, Settled};
use crate::model::money::{Currency, Money};
use crate::model::top_up::Gateway;
use chrono::{DateTime, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha512;
use std::collections::BTreeMap;

type HmacSha512 = Hmac<Sha512>;

/// The merchant's VNPay settings. The secret never appears in `Debug` output.
#[derive(Clone, Debug)]
pub struct VnPayConfig {
    /// `vnp_TmnCode`, the merchant's terminal code.
    pub tmn_code: String,
    pub hash_secret: SecretString,
    /// The payment page, e.g. `https://sandbox.vnpayment.vn/paymentv2/vpcpay.html`.
    pub pay_url: String,
    /// Where VNPay sends the customer back.
    pub return_url: String,
    /// The merchant API (`querydr`), e.g.
    /// `https://sandbox.vnpayment.vn/merchant_webapi/api/transaction`.
    pub api_url: String,
}

/// Why a VNPay call was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VnPayError {
    #[error("the call is not signed, or the signature does not match")]
    BadSignature,
    #[error("the call lacks {0}")]
    Missing(&'static str),
    #[error("the call's {0} is malformed")]
    Malformed(&'static str),
}

/// GMT+7, the time zone VNPay's dates are in.
pub const VIETNAM: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

fn mac(secret: &SecretString) -> HmacSha512 {
    HmacSha512::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length")
}

/// The signed text: sorted, form-URL-encoded `name=value` pairs joined by `&`.
pub fn signing_text(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{}={}",
                form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The hex HMAC-SHA512 of the signing text.
pub fn sign(secret: &SecretString, params: &BTreeMap<String, String>) -> String {
    let mut mac = mac(secret);
    mac.update(signing_text(params).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What a payment URL is built from.
#[derive(Clone, Debug)]
pub struct PaymentRequest<'a> {
    /// Our unique payment reference (`vnp_TxnRef`).
    pub reference: &'a str,
    pub amount: Money,
    pub order_info: &'a str,
    pub client_ip: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The signed payment URL the customer is sent to.
pub fn payment_url(
    config: &VnPayConfig,
    request: &PaymentRequest<'_>,
) -> Result<String, VnPayError> {
    if request.amount.currency() != Currency::Vnd {
        return Err(VnPayError::Malformed("currency (VNPay takes VND only)"));
    }
    let amount = request
        .amount
        .to_minor()
        .and_then(|d| d.checked_mul(100))
        .ok_or(VnPayError::Malformed("amount"))?;
    let fmt = |t: DateTime<Utc>| t.with_timezone(&VIETNAM).format("%Y%m%d%H%M%S").to_string();
    let mut params = BTreeMap::new();
    for (k, v) in [
        ("vnp_Version", "2.1.0".to_owned()),
        ("vnp_Command", "pay".to_owned()),
        ("vnp_TmnCode", config.tmn_code.clone()),
        ("vnp_Amount", amount.to_string()),
        ("vnp_CurrCode", "VND".to_owned()),
        ("vnp_TxnRef", request.reference.to_owned()),
        ("vnp_OrderInfo", request.order_info.to_owned()),
        ("vnp_OrderType", "other".to_owned()),
        ("vnp_Locale", "vn".to_owned()),
        ("vnp_ReturnUrl", config.return_url.clone()),
        ("vnp_IpAddr", request.client_ip.to_owned()),
        ("vnp_CreateDate", fmt(request.created_at)),
        ("vnp_ExpireDate", fmt(request.expires_at)),
    ] {
        params.insert(k.to_owned(), v);
    }
    let query = signing_text(&params);
    let hash = sign(&config.hash_secret, &params);
    Ok(format!("{}?{query}&vnp_SecureHash={hash}", config.pay_url))
}

/// A verified return or IPN call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callback {
    pub reference: String,
    pub amount: Money,
    /// `vnp_ResponseCode` and `vnp_TransactionStatus` both `00`.
    pub paid: bool,
    pub response_code: String,
    /// VNPay's own transaction number, if it gave one.
    pub transaction_no: Option<String>,
    /// `vnp_TmnCode`: whose terminal the call is for.
    pub tmn_code: String,
}

/// Checks a return/IPN call's signature (constant-time) and reads it.
pub fn verify(secret: &SecretString, query: &[(String, String)]) -> Result<Callback, VnPayError> {
    let mut params = BTreeMap::new();
    let mut given = None;
    for (k, v) in query {
        match k.as_str() {
            "vnp_SecureHash" => given = Some(v.clone()),
            "vnp_SecureHashType" => {}
            k if k.starts_with("vnp_") => {
                params.insert(k.to_owned(), v.clone());
            }
            _ => {}
        }
    }
    let given = hex::decode(given.ok_or(VnPayError::BadSignature)?)
        .map_err(|_| VnPayError::BadSignature)?;
    let mut mac = mac(secret);
    mac.update(signing_text(&params).as_bytes());
    mac.verify_slice(&given)
        .map_err(|_| VnPayError::BadSignature)?;

    let get = |k: &'static str| params.get(k).cloned().ok_or(VnPayError::Missing(k));
    let hundredths: i64 = get("vnp_Amount")?
        .parse()
        .map_err(|_| VnPayError::Malformed("vnp_Amount"))?;
    if hundredths % 100 != 0 {
        return Err(VnPayError::Malformed("vnp_Amount"));
    }
    let response_code = get("vnp_ResponseCode")?;
    let status = params
        .get("vnp_TransactionStatus")
        .cloned()
        .unwrap_or_default();
    Ok(Callback {
        reference: get("vnp_TxnRef")?,
        amount: Money::from_minor(hundredths / 100, Currency::Vnd),
        paid: response_code == "00" && status == "00",
        response_code,
        tmn_code: params.get("vnp_TmnCode").cloned().unwrap_or_default(),
        transaction_no: params
            .get("vnp_TransactionNo")
            .cloned()
            .filter(|n| !n.is_empty() && n != "0"),
    })
}

/// VNPay's IPN answer codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpnAnswer {
    /// 00: the payment was recorded now.
    Confirmed,
    /// 01: no payment has this reference.
    OrderNotFound,
    /// 02: the payment was settled before.
    AlreadyConfirmed,
    /// 04: the amount differs from the payment's.
    InvalidAmount,
    /// 97: the signature does not match.
    InvalidSignature,
    /// 99: anything else.
    Other,
}

impl IpnAnswer {
    /// The JSON body VNPay expects.
    pub fn body(self) -> String {
        let (code, message) = match self {
            IpnAnswer::Confirmed => ("00", "Confirm Success"),
            IpnAnswer::OrderNotFound => ("01", "Order not found"),
            IpnAnswer::AlreadyConfirmed => ("02", "Order already confirmed"),
            IpnAnswer::InvalidAmount => ("04", "Invalid amount"),
            IpnAnswer::InvalidSignature => ("97", "Invalid signature"),
            IpnAnswer::Other => ("99", "Unknown error"),
        };
        format!("{{\"RspCode\":\"{code}\",\"Message\":\"{message}\"}}")
    }
}

/// Handles VNPay's IPN call: verifies it, settles the payment, and answers with the
/// code VNPay expects. A failed payment is confirmed too (`00`): VNPay only needs to
/// know we recorded the outcome.
pub async fn handle_ipn(
    db: &crate::domain::db::Db,
    config: &VnPayConfig,
    query: &[(String, String)],
) -> IpnAnswer {
    let gateway = VnPay {
        config: config.clone(),
        http: super::http_client(),
    };
    let call = Notification {
        query: query.to_vec(),
        ..Default::default()
    };
    ipn_answer(&super::hear(db, &gateway, &call).await)
}

/// The IPN answer code for what came of a callback.
fn ipn_answer(heard: &Heard) -> IpnAnswer {
    match heard {
        Heard::Settled(Settled::Credited(_) | Settled::Failed)
        | Heard::Ignored
        | Heard::Disputed => IpnAnswer::Confirmed,
        Heard::Settled(Settled::Already(_)) => IpnAnswer::AlreadyConfirmed,
        Heard::Settled(Settled::NotFound) => IpnAnswer::OrderNotFound,
        Heard::Settled(Settled::AmountMismatch { .. }) => IpnAnswer::InvalidAmount,
        Heard::Refused(GatewayError::BadSignature) => IpnAnswer::InvalidSignature,
        Heard::Refused(_) | Heard::Failed => IpnAnswer::Other,
    }
}

/// VNPay as a [`PaymentGateway`].
#[derive(Clone, Debug)]
pub struct VnPay {
    pub config: VnPayConfig,
    pub http: reqwest::Client,
}

#[async_trait::async_trait]
impl PaymentGateway for VnPay {
    fn gateway(&self) -> Gateway {
        Gateway::VnPay
    }

    /// VNPay returns to one fixed URL; our reference is its `vnp_TxnRef`.
    fn reference_in(&self, query: &[(String, String)]) -> Option<String> {
        query
            .iter()
            .find(|(k, _)| k == "vnp_TxnRef")
            .map(|(_, v)| v.clone())
    }

    async fn start(&self, checkout: &Checkout<'_>) -> Result<Started, GatewayError> {
        // VNPay returns to one fixed URL per merchant; our reference comes back in
        // vnp_TxnRef, so the return URL carries no query of its own.
        let config = VnPayConfig {
            return_url: checkout
                .return_url
                .split_once('?')
                .map_or(checkout.return_url.as_str(), |(base, _)| base)
                .to_owned(),
            ..self.config.clone()
        };
        let url = payment_url(
            &config,
            &PaymentRequest {
                reference: checkout.reference,
                amount: checkout.amount,
                order_info: &format!("Credit top-up {}", checkout.reference),
                client_ip: checkout.client_ip,
                created_at: checkout.created_at,
                expires_at: checkout.expires_at,
            },
        )
        .map_err(|e| GatewayError::Malformed(e.to_string()))?;
        Ok(Started {
            redirect_url: url,
            gateway_ref: None,
        })
    }

    async fn returned(
        &self,
        payment: &payment_row::Model,
        query: &[(String, String)],
    ) -> Result<Option<Outcome>, GatewayError> {
        // Verified for display only: the IPN settles the payment.
        let said = verify(&self.config.hash_secret, query).map_err(|e| match e {
            VnPayError::BadSignature => GatewayError::BadSignature,
            other => GatewayError::Malformed(other.to_string()),
        })?;
        if said.reference != payment.reference {
            return Err(GatewayError::Malformed(
                "vnp_TxnRef is another payment's".into(),
            ));
        }
        tracing::info!(reference = %said.reference, code = %said.response_code, "VNPay return");
        Ok(None)
    }

    async fn notified(&self, call: &Notification) -> Result<Option<Event>, GatewayError> {
        let callback = verify(&self.config.hash_secret, &call.query).map_err(|e| match e {
            VnPayError::BadSignature => GatewayError::BadSignature,
            other => GatewayError::Malformed(other.to_string()),
        })?;
        if callback.tmn_code != self.config.tmn_code {
            // Signed, but for another terminal: not a payment of ours.
            return Err(GatewayError::Malformed(format!(
                "vnp_TmnCode {:?} is not our terminal",
                callback.tmn_code
            )));
        }
        let outcome = if callback.paid {
            Outcome::Paid {
                amount: callback.amount,
                gateway_ref: callback.transaction_no.clone(),
            }
        } else {
            Outcome::Failed {
                reason: Failure::Vnpay {
                    code: callback.response_code.clone(),
                },
            }
        };
        Ok(Some(Event::Settle(Notice {
            event_id: None,
            reference: callback.reference,
            outcome,
        })))
    }

    async fn query(&self, payment: &payment_row::Model) -> Result<Option<Outcome>, GatewayError> {
        let request = querydr_request(
            &self.config,
            &payment.reference,
            payment.created_at,
            crate::domain::db::now(),
            &crate::domain::api_key::random_token()[..32],
        );
        let response = self
            .http
            .post(&self.config.api_url)
            .json(&request)
            .send()
            .await?;
        let answer: BTreeMap<String, String> = response
            .json()
            .await
            .map_err(|e| GatewayError::Malformed(e.without_url().to_string()))?;
        let said = read_querydr(&self.config, &answer)?;
        if said.reference != payment.reference {
            return Err(GatewayError::Malformed(
                "querydr answered for another payment".into(),
            ));
        }
        Ok(said.outcome)
    }

    fn answer(&self, heard: &Heard) -> Answer {
        // VNPay reads the JSON body of a 200 answer, whatever the code.
        Answer {
            status: 200,
            content_type: "application/json",
            body: ipn_answer(heard).body(),
        }
    }
}

/// The `querydr` request's fields, in the order VNPay signs them.
const QUERYDR_SIGNED: [&str; 9] = [
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
];

/// The `querydr` answer's fields, in the order VNPay signs them.
pub const QUERYDR_ANSWER_SIGNED: [&str; 15] = [
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
];

/// The hex HMAC-SHA512 of `fields`' values joined by `|` (the merchant API's signing).
pub fn sign_fields(
    secret: &SecretString,
    order: &[&str],
    fields: &BTreeMap<String, String>,
) -> String {
    let text = order
        .iter()
        .map(|k| fields.get(*k).map_or("", String::as_str))
        .collect::<Vec<_>>()
        .join("|");
    let mut mac = mac(secret);
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The signed JSON body of a `querydr` call for our payment `reference` created at
/// `created_at` (VNPay finds it by the pair).
pub fn querydr_request(
    config: &VnPayConfig,
    reference: &str,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    request_id: &str,
) -> BTreeMap<String, String> {
    let fmt = |t: DateTime<Utc>| t.with_timezone(&VIETNAM).format("%Y%m%d%H%M%S").to_string();
    let mut fields: BTreeMap<String, String> = [
        ("vnp_RequestId", request_id.to_owned()),
        ("vnp_Version", "2.1.0".to_owned()),
        ("vnp_Command", "querydr".to_owned()),
        ("vnp_TmnCode", config.tmn_code.clone()),
        ("vnp_TxnRef", reference.to_owned()),
        ("vnp_TransactionDate", fmt(created_at)),
        ("vnp_CreateDate", fmt(now)),
        ("vnp_IpAddr", "127.0.0.1".to_owned()),
        ("vnp_OrderInfo", format!("Query {reference}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let hash = sign_fields(&config.hash_secret, &QUERYDR_SIGNED, &fields);
    fields.insert("vnp_SecureHash".into(), hash);
    fields
}

/// Checks a `querydr` request's signature (the sandbox's side).
pub fn querydr_request_valid(secret: &SecretString, fields: &BTreeMap<String, String>) -> bool {
    let expected = sign_fields(secret, &QUERYDR_SIGNED, fields);
    fields
        .get("vnp_SecureHash")
        .is_some_and(|h| h.eq_ignore_ascii_case(&expected))
}

/// What VNPay's `querydr` said about a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryAnswer {
    pub reference: String,
    /// `None`: still open (or VNPay is still processing it); ask again later.
    pub outcome: Option<Outcome>,
}

/// Verifies and reads a `querydr` answer.
pub fn read_querydr(
    config: &VnPayConfig,
    answer: &BTreeMap<String, String>,
) -> Result<QueryAnswer, GatewayError> {
    let expected = sign_fields(&config.hash_secret, &QUERYDR_ANSWER_SIGNED, answer);
    let given = answer.get("vnp_SecureHash").map(|h| h.to_lowercase());
    let get = |k: &str| answer.get(k).cloned().unwrap_or_default();
    if given.as_deref() != Some(expected.as_str()) {
        return Err(GatewayError::BadSignature);
    }
    if get("vnp_TmnCode") != config.tmn_code {
        return Err(GatewayError::Malformed(
            "querydr answered for another terminal".into(),
        ));
    }
    let reference = get("vnp_TxnRef");
    let outcome = match (
        get("vnp_ResponseCode").as_str(),
        get("vnp_TransactionStatus").as_str(),
    ) {
        ("00", "00") => {
            let hundredths: i64 = get("vnp_Amount")
                .parse()
                .ok()
                .filter(|h: &i64| h % 100 == 0)
                .ok_or_else(|| GatewayError::Malformed("vnp_Amount".into()))?;
            Some(Outcome::Paid {
                amount: Money::from_minor(hundredths / 100, Currency::Vnd),
                gateway_ref: Some(get("vnp_TransactionNo")).filter(|n| !n.is_empty() && n != "0"),
            })
        }
        // 01: not completed yet; 05/06: VNPay is processing it.
        ("00", "01" | "05" | "06") => None,
        ("00", status) => Some(Outcome::Failed {
            reason: Failure::NotCompleted {
                gateway: Gateway::VnPay,
                status: status.to_owned(),
            },
        }),
        // 91: VNPay has no such transaction: the customer never paid.
        ("91", _) => Some(Outcome::GaveUp {
            reason: Failure::Unknown {
                gateway: Gateway::VnPay,
            },
        }),
        (code, _) => {
            return Err(GatewayError::Refused(format!(
                "querydr answered {code}: {}",
                get("vnp_Message")
            )));
        }
    };
    Ok(QueryAnswer { reference, outcome })
}
