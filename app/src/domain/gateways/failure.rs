//! Why a payment did not go through, typed, so the outcome page words it in the
//! reader's language. Its English `Display` is what the payment row's
//! `failure_reason`, the audit log and the operator console keep; the typed form is
//! stored beside it (`payments.failure`).

use crate::i18n::*;
use crate::model::settings::Language;
use crate::model::top_up::Gateway;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    /// The customer cancelled at the gateway.
    Cancelled { gateway: Gateway },
    /// VNPay's response code, which says why (insufficient funds, a wrong OTP, …).
    Vnpay { code: String },
    /// The payment method was declined, or the capture denied.
    Declined { gateway: Gateway },
    /// The gateway's checkout expired unpaid, or was not approved in time.
    Expired { gateway: Gateway },
    /// The gateway reports the payment not completed, in this status.
    NotCompleted { gateway: Gateway, status: String },
    /// The gateway has no payment for it (none was opened there).
    Unknown { gateway: Gateway },
    /// The gateway could not be reached to start the payment.
    Unreachable { gateway: Gateway },
    /// No word from the gateway before the payment's time ran out.
    TimedOut,
}

impl Failure {
    /// The stored form (`payments.failure`).
    pub fn to_json(&self) -> String {
        // A plain enum of strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored failure; `None` for rows without one (then the stored English shows).
    pub fn parse(stored: Option<&str>) -> Option<Failure> {
        serde_json::from_str(stored?).ok()
    }

    /// Whether the customer called it off (the outcome page says "cancelled").
    pub fn is_cancelled(&self) -> bool {
        match self {
            Failure::Cancelled { .. } => true,
            Failure::Vnpay { code } => code == VNPAY_CANCELLED,
            _ => false,
        }
    }

    /// The reason in `language`, as the outcome page shows it.
    pub fn words(&self, language: Language) -> String {
        let locale = language.locale();
        match self {
            Failure::Cancelled { gateway } => {
                let gateway = gateway.label();
                td_string!(locale, payment_failure.cancelled, gateway).to_string()
            }
            Failure::Vnpay { code } => {
                let meaning = match code.as_str() {
                    VNPAY_CANCELLED => td_string!(locale, payment_failure.vnpay_cancelled),
                    "11" => td_string!(locale, payment_failure.vnpay_timeout),
                    "51" => td_string!(locale, payment_failure.vnpay_funds),
                    "65" => td_string!(locale, payment_failure.vnpay_limit),
                    "75" => td_string!(locale, payment_failure.vnpay_maintenance),
                    "79" | "13" => td_string!(locale, payment_failure.vnpay_otp),
                    "09" => td_string!(locale, payment_failure.vnpay_not_registered),
                    "10" => td_string!(locale, payment_failure.vnpay_verification),
                    "12" => td_string!(locale, payment_failure.vnpay_locked),
                    _ => td_string!(locale, payment_failure.vnpay_other),
                };
                td_string!(locale, payment_failure.vnpay, meaning, code).to_string()
            }
            Failure::Declined { gateway } => {
                let gateway = gateway.label();
                td_string!(locale, payment_failure.declined, gateway).to_string()
            }
            Failure::Expired { gateway } => {
                let gateway = gateway.label();
                td_string!(locale, payment_failure.expired, gateway).to_string()
            }
            Failure::NotCompleted { gateway, status } => {
                let gateway = gateway.label();
                td_string!(locale, payment_failure.not_completed, gateway, status).to_string()
            }
            Failure::Unknown { gateway } => {
                let gateway = gateway.label();
                td_string!(locale, payment_failure.unknown, gateway).to_string()
            }
            Failure::Unreachable { gateway } => {
                let gateway = gateway.label();
                td_string!(locale, payment_failure.unreachable, gateway).to_string()
            }
            Failure::TimedOut => td_string!(locale, payment_failure.timed_out).to_owned(),
        }
    }
}

/// VNPay's response code for a payment the customer cancelled.
const VNPAY_CANCELLED: &str = "24";

/// The English words, as stored in `failure_reason` and the audit log.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words(Language::En))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_in_each_language_and_store_as_english() {
        let cancelled = Failure::Vnpay { code: "24".into() };
        assert!(cancelled.is_cancelled());
        assert_eq!(
            cancelled.to_string(),
            "VNPay: cancelled by the customer (code 24)"
        );
        let vi = cancelled.words(Language::Vi);
        assert!(vi.contains("24") && vi != cancelled.to_string(), "{vi}");
        let funds = Failure::Vnpay { code: "51".into() };
        assert!(!funds.is_cancelled());
        assert_eq!(funds.to_string(), "VNPay: insufficient funds (code 51)");
        assert!(
            Failure::Cancelled {
                gateway: Gateway::Stripe
            }
            .is_cancelled()
        );
        let stored = Failure::NotCompleted {
            gateway: Gateway::PayPal,
            status: "DECLINED".into(),
        };
        assert_eq!(Failure::parse(Some(&stored.to_json())), Some(stored));
        assert_eq!(Failure::parse(Some("Cancelled at Stripe")), None);
    }
}
