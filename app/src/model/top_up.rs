//! Add credit: which currency a country gets, the amounts offered and allowed, and the
//! payment method each currency is paid with. Shared, so the browser checks what the
//! server checks, with the same messages.

use super::money::AmountError;
use super::money::{Currency, Money};
use serde::{Deserialize, Serialize};

/// The version of the non-refundable terms the customer agrees to with Pay (their words
/// in each language are `add_credit.terms` in `app/locales`). Stored with each payment
/// (with the time), so a chargeback dispute can show what was agreed to; change the
/// version whenever the words change.
pub const TERMS_VERSION: &str = "non-refundable-2026-11";

/// A payment gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gateway {
    VnPay,
    Stripe,
    PayPal,
}

impl Gateway {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Gateway::VnPay => "vnpay",
            Gateway::Stripe => "stripe",
            Gateway::PayPal => "paypal",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Gateway> {
        [Gateway::VnPay, Gateway::Stripe, Gateway::PayPal]
            .into_iter()
            .find(|g| g.as_str() == name)
    }

    /// The name customers know (and the Source column shows).
    pub fn label(self) -> &'static str {
        match self {
            Gateway::VnPay => "VNPay",
            Gateway::Stripe => "Stripe",
            Gateway::PayPal => "PayPal",
        }
    }
}

/// A payment as the Payment History shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRow {
    /// Date and time in the user's time zone.
    pub date: String,
    pub amount: Money,
    pub method: Gateway,
    pub status: PaymentStatus,
    /// Our reference, quoted to support.
    pub reference: String,
    /// The gateway's own reference, once it gave one.
    pub gateway_reference: Option<String>,
}

/// A payment's status as customers see it: an expired payment is simply Failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    Success,
    Pending,
    Failed,
}

impl PaymentStatus {
    /// The label shown.
    pub fn label(self) -> &'static str {
        match self {
            PaymentStatus::Success => "Success",
            PaymentStatus::Pending => "Pending",
            PaymentStatus::Failed => "Failed",
        }
    }
}

/// A page of the Payment History.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPage {
    pub rows: Vec<PaymentRow>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// What the Add credit dialog needs to begin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUpSetup {
    /// The saved billing settings; `None` before the first top-up.
    pub profile: Option<crate::model::billing::BillingProfile>,
    /// The account's currency, if it has an account already (then it is fixed).
    pub currency: Option<Currency>,
    /// The signed-in user's email, to suggest as the billing email.
    pub email: String,
    /// The largest single top-up in each currency.
    pub maximums: Vec<Money>,
    /// Every country as (code, name), named and sorted in the reader's language.
    pub countries: Vec<(String, String)>,
}

impl TopUpSetup {
    /// The maximum for `currency`.
    pub fn maximum(&self, currency: Currency) -> Money {
        self.maximums
            .iter()
            .copied()
            .find(|m| m.currency() == currency)
            .unwrap_or_else(|| Money::zero(currency))
    }
}

/// A payment as its outcome page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOutcome {
    pub reference: String,
    pub amount: Money,
    pub method: Gateway,
    pub status: PaymentStatus,
    /// Why it failed, in the reader's language.
    pub reason: Option<String>,
    /// Whether the customer cancelled it (rather than the payment failing).
    pub cancelled: bool,
    /// The total balance now.
    pub balance: Money,
}

/// The payment method for an account's currency: VNPay for đồng, Stripe for yen,
/// PayPal for the rest.
pub fn gateway_for(currency: Currency) -> Gateway {
    match currency {
        Currency::Vnd => Gateway::VnPay,
        Currency::Jpy => Gateway::Stripe,
        Currency::Usd | Currency::Eur => Gateway::PayPal,
    }
}

/// The currency a billing country gets: VND in Vietnam, JPY in Japan; anywhere else the
/// customer chooses among the PayPal currencies we hold (`None`).
pub fn fixed_currency(country: &str) -> Option<Currency> {
    match country {
        "VN" => Some(Currency::Vnd),
        "JP" => Some(Currency::Jpy),
        _ => None,
    }
}

/// The currencies a customer in `country` may choose.
pub fn currencies_for(country: &str) -> Vec<Currency> {
    match fixed_currency(country) {
        Some(c) => vec![c],
        None => vec![Currency::Usd, Currency::Eur],
    }
}

/// The smallest top-up, in minor units: 500,000 ₫, ¥3,000, 25.00 in USD or EUR.
pub fn minimum(currency: Currency) -> Money {
    match currency {
        Currency::Vnd => Money::from_minor(500_000, currency),
        Currency::Jpy => Money::from_minor(3_000, currency),
        Currency::Usd | Currency::Eur => Money::from_minor(2_500, currency),
    }
}

/// The amounts offered as buttons.
pub fn presets(currency: Currency) -> [Money; 4] {
    let minor = match currency {
        Currency::Vnd => [500_000, 1_000_000, 2_000_000, 5_000_000],
        Currency::Jpy => [3_000, 5_000, 10_000, 30_000],
        Currency::Usd | Currency::Eur => [2_500, 5_000, 10_000, 50_000],
    };
    minor.map(|m| Money::from_minor(m, currency))
}

/// Why an amount cannot be topped up; the message names the limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TopUpAmountError {
    #[error("Enter an amount: {0}")]
    Unreadable(AmountError),
    #[error("The minimum top-up is {0}.")]
    BelowMinimum(Money),
    #[error("The maximum top-up is {0}.")]
    AboveMaximum(Money),
}

/// Checks a top-up amount the person typed or picked, against the minimum for the
/// currency and the configured maximum.
pub fn check_amount(
    text: &str,
    currency: Currency,
    maximum: Money,
) -> Result<Money, TopUpAmountError> {
    let amount = Money::parse_positive(text, currency).map_err(TopUpAmountError::Unreadable)?;
    let minor = amount.to_minor().unwrap_or(i64::MAX);
    if minor < minimum(currency).to_minor().unwrap_or(0) {
        return Err(TopUpAmountError::BelowMinimum(minimum(currency)));
    }
    if minor > maximum.to_minor().unwrap_or(i64::MAX) {
        return Err(TopUpAmountError::AboveMaximum(maximum));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_currencies_follow_the_country() {
        assert_eq!(gateway_for(Currency::Vnd), Gateway::VnPay);
        assert_eq!(gateway_for(Currency::Jpy), Gateway::Stripe);
        assert_eq!(gateway_for(Currency::Eur), Gateway::PayPal);
        assert_eq!(currencies_for("VN"), vec![Currency::Vnd]);
        assert_eq!(currencies_for("JP"), vec![Currency::Jpy]);
        assert_eq!(currencies_for("DE"), vec![Currency::Usd, Currency::Eur]);
    }

    #[test]
    fn amounts_are_checked_against_both_limits_with_the_limit_named() {
        let max = Money::from_minor(1_000_000_000, Currency::Vnd);
        assert_eq!(
            check_amount("499999", Currency::Vnd, max),
            Err(TopUpAmountError::BelowMinimum(Money::from_minor(
                500_000,
                Currency::Vnd
            )))
        );
        assert_eq!(
            check_amount("499999", Currency::Vnd, max)
                .unwrap_err()
                .to_string(),
            "The minimum top-up is 500.000 ₫."
        );
        assert!(check_amount("500000", Currency::Vnd, max).is_ok());
        assert_eq!(
            check_amount("1000000001", Currency::Vnd, max),
            Err(TopUpAmountError::AboveMaximum(max))
        );
        let usd_max = Money::from_minor(1_000_000, Currency::Usd);
        assert_eq!(
            check_amount("24.99", Currency::Usd, usd_max)
                .unwrap_err()
                .to_string(),
            "The minimum top-up is $25.00."
        );
        assert!(matches!(
            check_amount("25.001", Currency::Usd, usd_max),
            Err(TopUpAmountError::Unreadable(_))
        ));
        assert_eq!(
            check_amount(
                "2999",
                Currency::Jpy,
                Money::from_minor(10_000_000, Currency::Jpy)
            )
            .unwrap_err()
            .to_string(),
            "The minimum top-up is ¥3,000."
        );
        for p in presets(Currency::Eur) {
            assert!(
                check_amount(
                    &p.to_plain_string(),
                    Currency::Eur,
                    Money::from_minor(1_000_000, Currency::Eur)
                )
                .is_ok()
            );
        }
    }
}
