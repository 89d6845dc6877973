//! Currencies and exact amounts. Never floats: an amount is a `rust_decimal::Decimal`
//! in the currency's minor-unit scale, stored as integer minor units.
//!
//! Currency data (ISO code, minor units, symbol) comes from the `iso_currency` crate;
//! what is ours is the short list we sell in and how each is written for its users.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A currency an account can hold. The account's currency never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "VND")]
    Vnd,
    #[serde(rename = "JPY")]
    Jpy,
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "EUR")]
    Eur,
}

/// How a locale writes a number and the currency symbol.
struct Style {
    thousands: char,
    decimal: char,
    /// `true`: `$25.00`; `false`: `25,00 €`.
    symbol_first: bool,
}

impl Currency {
    /// Every currency we sell in, in the order forms list them.
    pub const ALL: [Currency; 4] = [Currency::Vnd, Currency::Jpy, Currency::Usd, Currency::Eur];

    fn iso(self) -> iso_currency::Currency {
        match self {
            Currency::Vnd => iso_currency::Currency::VND,
            Currency::Jpy => iso_currency::Currency::JPY,
            Currency::Usd => iso_currency::Currency::USD,
            Currency::Eur => iso_currency::Currency::EUR,
        }
    }

    /// The ISO 4217 code, e.g. `VND`.
    pub fn code(self) -> &'static str {
        self.iso().code()
    }

    /// Digits after the decimal point (ISO 4217 minor units): VND 0, JPY 0, USD 2, EUR 2.
    pub fn minor_units(self) -> u32 {
        u32::from(self.iso().exponent().unwrap_or(0))
    }

    /// Parses an ISO code such as `USD` (exact, upper case).
    pub fn from_code(code: &str) -> Option<Currency> {
        Currency::ALL.into_iter().find(|c| c.code() == code)
    }

    // The locale each currency's users read: vi-VN, ja-JP, en-US, and for the euro the
    // continental style (de-DE) most euro users expect.
    fn style(self) -> Style {
        match self {
            Currency::Vnd | Currency::Eur => Style {
                thousands: '.',
                decimal: ',',
                symbol_first: false,
            },
            Currency::Jpy | Currency::Usd => Style {
                thousands: ',',
                decimal: '.',
                symbol_first: true,
            },
        }
    }

    /// The currency sign, e.g. `₫`, `$`.
    pub fn symbol(self) -> String {
        self.iso().symbol().to_string()
    }

    /// Whether the sign goes before the number (`$25.00`) or after it (`25,00 €`).
    pub fn symbol_first(self) -> bool {
        self.style().symbol_first
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a text is not an amount of a currency. Messages are shown to users as they are.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AmountError {
    #[error("enter an amount")]
    Empty,
    #[error("\"{0}\" is not a number; write it like 1250 or 12.50")]
    NotANumber(String),
    #[error("{currency} amounts have at most {max} decimal places")]
    TooManyDecimals { currency: Currency, max: u32 },
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the amount is too large")]
    TooLarge,
}

/// An exact amount of one currency. Always at the currency's scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// From integer minor units (the storage form): `Money::from_minor(2500, Usd)` is $25.00.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money {
            amount: Decimal::new(minor, currency.minor_units()),
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money::from_minor(0, currency)
    }

    /// Parses what a person or an API client wrote: digits with an optional `.` and at
    /// most the currency's decimals. No thousands separators, no sign, no exponent.
    /// Zero and negative amounts are refused: nobody pays or charges nothing.
    pub fn parse_positive(text: &str, currency: Currency) -> Result<Money, AmountError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.starts_with('-') {
            return Err(AmountError::NotPositive);
        }
        let well_formed = {
            let mut parts = text.splitn(2, '.');
            let whole = parts.next().unwrap_or_default();
            let frac = parts.next();
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        };
        if !well_formed {
            return Err(AmountError::NotANumber(text.chars().take(40).collect()));
        }
        let amount = Decimal::from_str(text).map_err(|_| AmountError::TooLarge)?;
        let max = currency.minor_units();
        if amount.normalize().scale() > max {
            return Err(AmountError::TooManyDecimals { currency, max });
        }
        if amount.is_zero() {
            return Err(AmountError::NotPositive);
        }
        let money = Money {
            amount: amount.round_dp(max),
            currency,
        };
        money.to_minor().ok_or(AmountError::TooLarge)?;
        Ok(money.rescaled())
    }

    fn rescaled(mut self) -> Money {
        self.amount.rescale(self.currency.minor_units());
        self
    }

    /// The exact decimal value, at the currency's scale.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Integer minor units, or `None` if the amount does not fit an `i64`.
    pub fn to_minor(&self) -> Option<i64> {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.minor_units());
        i64::try_from(scaled.mantissa()).ok()
    }

    /// The amount as a plain decimal string at the currency's scale (`12.50`, `500000`):
    /// the API's wire form.
    pub fn to_plain_string(&self) -> String {
        self.rescaled().amount.to_string()
    }

    /// The same amount with the opposite sign.
    pub fn negated(&self) -> Money {
        Money {
            amount: -self.amount,
            currency: self.currency,
        }
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// Written as the currency's users read it, with a `+` for credits when asked:
    /// `+500.000 ₫`, `-$25.00`.
    pub fn format_signed(&self) -> String {
        if self.is_negative() {
            self.to_string()
        } else {
            format!("+{self}")
        }
    }
}

/// A run of digits in groups of three: `group_digits("500000", '.')` is `500.000`.
pub fn group_digits(whole: &str, thousands: char) -> String {
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(thousands);
        }
        grouped.push(ch);
    }
    grouped
}

impl fmt::Display for Money {
    /// `500.000 ₫`, `¥3,000`, `$25.00`, `25,00 €`; negatives lead with `-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let style = self.currency.style();
        let digits = self.rescaled().amount.abs().to_string();
        let (whole, frac) = match digits.split_once('.') {
            Some((w, fr)) => (w, Some(fr)),
            None => (digits.as_str(), None),
        };
        let mut grouped = group_digits(whole, style.thousands);
        if let Some(frac) = frac {
            grouped.push(style.decimal);
            grouped.push_str(frac);
        }
        let sign = if self.is_negative() { "-" } else { "" };
        let symbol = self.currency.symbol();
        if style.symbol_first {
            write!(f, "{sign}{symbol}{grouped}")
        } else {
            write!(f, "{sign}{grouped} {symbol}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Currency::*;

    #[test]
    fn formats_each_currency_in_its_locale() {
        assert_eq!(Money::from_minor(500_000, Vnd).to_string(), "500.000 ₫");
        assert_eq!(Money::from_minor(3_000, Jpy).to_string(), "¥3,000");
        assert_eq!(Money::from_minor(2_500, Usd).to_string(), "$25.00");
        assert_eq!(Money::from_minor(2_500, Eur).to_string(), "25,00 €");
        assert_eq!(
            Money::from_minor(123_456_789, Eur).to_string(),
            "1.234.567,89 €"
        );
        assert_eq!(Money::from_minor(0, Vnd).to_string(), "0 ₫");
        assert_eq!(Money::from_minor(1, Usd).to_string(), "$0.01");
        assert_eq!(
            Money::from_minor(999_999_999_999, Vnd).to_string(),
            "999.999.999.999 ₫"
        );
    }

    #[test]
    fn formats_signs() {
        assert_eq!(Money::from_minor(-2_500, Usd).to_string(), "-$25.00");
        assert_eq!(
            Money::from_minor(-500_000, Vnd).format_signed(),
            "-500.000 ₫"
        );
        assert_eq!(
            Money::from_minor(500_000, Vnd).format_signed(),
            "+500.000 ₫"
        );
    }

    #[test]
    fn minor_units_come_from_iso_4217() {
        assert_eq!(Vnd.minor_units(), 0);
        assert_eq!(Jpy.minor_units(), 0);
        assert_eq!(Usd.minor_units(), 2);
        assert_eq!(Eur.minor_units(), 2);
        assert_eq!(Currency::from_code("EUR"), Some(Eur));
        assert_eq!(Currency::from_code("eur"), None);
    }

    #[test]
    fn parses_to_the_currency_scale() {
        let m = Money::parse_positive("12.5", Usd).unwrap();
        assert_eq!(m.to_minor(), Some(1250));
        assert_eq!(m.to_plain_string(), "12.50");
        assert_eq!(Money::parse_positive("12.50", Usd).unwrap(), m);
        assert_eq!(
            Money::parse_positive("500000", Vnd).unwrap().to_minor(),
            Some(500_000)
        );
        // Trailing zeros beyond the scale say nothing more, so they are accepted.
        assert_eq!(
            Money::parse_positive("3000.00", Jpy)
                .unwrap()
                .to_plain_string(),
            "3000"
        );
    }

    #[test]
    fn parse_refuses_bad_text_with_a_specific_error() {
        assert_eq!(Money::parse_positive("", Usd), Err(AmountError::Empty));
        assert_eq!(
            Money::parse_positive("12.345", Usd),
            Err(AmountError::TooManyDecimals {
                currency: Usd,
                max: 2
            })
        );
        assert_eq!(
            Money::parse_positive("1.5", Vnd),
            Err(AmountError::TooManyDecimals {
                currency: Vnd,
                max: 0
            })
        );
        assert_eq!(
            Money::parse_positive("0", Usd),
            Err(AmountError::NotPositive)
        );
        assert_eq!(
            Money::parse_positive("0.00", Usd),
            Err(AmountError::NotPositive)
        );
        assert_eq!(
            Money::parse_positive("-5", Usd),
            Err(AmountError::NotPositive)
        );
        for bad in ["1e3", "12,50", "abc", "1.", ".5", "+5", "1 000", "NaN"] {
            assert!(
                matches!(
                    Money::parse_positive(bad, Usd),
                    Err(AmountError::NotANumber(_))
                ),
                "{bad} should not parse"
            );
        }
        assert_eq!(
            Money::parse_positive("99999999999999999999", Vnd),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn error_messages_name_the_limit() {
        assert_eq!(
            AmountError::TooManyDecimals {
                currency: Usd,
                max: 2
            }
            .to_string(),
            "USD amounts have at most 2 decimal places"
        );
    }
}
