//! Billing settings: who is billed, where, and in which currency. Checked the same way
//! in the browser (as the person types) and on the server (before anything is saved).

use super::money::Currency;
use super::problem::Problem;
use super::top_up::currencies_for;
use isocountry::CountryCode;
use serde::{Deserialize, Serialize};

/// Personal or Company billing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingType {
    Personal,
    Company,
}

impl BillingType {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingType::Personal => "personal",
            BillingType::Company => "company",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<BillingType> {
        match name {
            "personal" => Some(BillingType::Personal),
            "company" => Some(BillingType::Company),
            _ => None,
        }
    }

    /// What the forms call it.
    pub fn label(self) -> &'static str {
        match self {
            BillingType::Personal => "Personal",
            BillingType::Company => "Company",
        }
    }
}

/// The billing settings form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingForm {
    pub billing_type: String,
    pub name: String,
    pub email: String,
    pub address: String,
    /// ISO 3166 alpha-2 code.
    pub country: String,
    /// ISO 4217 code.
    pub currency: String,
    pub tax_code: String,
}

/// Checked billing settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingProfile {
    pub billing_type: BillingType,
    pub name: String,
    pub email: String,
    pub address: String,
    pub country: String,
    pub currency: Currency,
    pub tax_code: Option<String>,
}

/// What is wrong with one field of the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

impl FieldError {
    pub fn new(field: &str, problem: Problem) -> FieldError {
        FieldError {
            field: field.to_owned(),
            problem,
        }
    }

    /// An operator-console form's message (English).
    pub fn text(field: &str, message: impl Into<String>) -> FieldError {
        FieldError::new(field, Problem::Worded(message.into()))
    }
}

/// What is wrong with a tax code's format for the billing country, where we know the
/// format: Vietnam's mã số thuế (10 digits, or 10-3 for a branch) and Japan's invoice
/// registration number (T and 13 digits). Elsewhere any code passes here.
pub fn tax_code_format(country: &str, tax_code: &str) -> Option<Problem> {
    let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
    if tax_code.is_empty() {
        return None;
    }
    match country {
        "VN" => {
            let ok = match tax_code.split_once('-') {
                None => digits(tax_code, 10),
                Some((main, branch)) => digits(main, 10) && digits(branch, 3),
            };
            (!ok).then_some(Problem::TaxCodeVietnam)
        }
        "JP" => {
            let ok = tax_code
                .strip_prefix(['T', 't'])
                .is_some_and(|rest| digits(rest, 13));
            (!ok).then_some(Problem::TaxCodeJapan)
        }
        _ => None,
    }
}

/// Whether text looks like an email address: something@domain.tld, no spaces.
pub fn is_email(text: &str) -> bool {
    text.len() <= 254
        && !text.contains(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

/// A country's name from its alpha-2 code.
pub fn country_name(code: &str) -> Option<&'static str> {
    CountryCode::for_alpha2(code).ok().map(|c| c.name())
}

impl BillingForm {
    /// Checks every field; all problems are reported at once, each beside its field.
    pub fn validate(&self) -> Result<BillingProfile, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, problem: Problem| errors.push(FieldError::new(field, problem));
        let billing_type = BillingType::parse(&self.billing_type);
        if billing_type.is_none() {
            fail("billing_type", Problem::BillingType);
        }
        let name = self.name.trim();
        if name.chars().count() < 2 || name.chars().count() > 200 {
            fail("name", Problem::BillingName);
        }
        let email = self.email.trim().to_lowercase();
        if !is_email(&email) {
            fail("email", Problem::BillingEmail);
        }
        let address = self.address.trim();
        if address.chars().count() < 5 || address.chars().count() > 500 {
            fail("address", Problem::BillingAddress);
        }
        let country = self.country.trim().to_uppercase();
        let currency = Currency::from_code(self.currency.trim());
        if country_name(&country).is_none() {
            fail("country", Problem::Country);
        } else {
            match currency {
                Some(c) if currencies_for(&country).contains(&c) => {}
                _ => fail(
                    "currency",
                    Problem::CurrencyForCountry {
                        country: country.clone(),
                        allowed: currencies_for(&country),
                    },
                ),
            }
        }
        let tax_code = self.tax_code.trim();
        if billing_type == Some(BillingType::Company) && tax_code.is_empty() {
            fail("tax_code", Problem::CompanyTaxCode);
        }
        // One message per field: the characters first, then the country's format.
        if tax_code.chars().count() > 64
            || !tax_code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ' ' | '/'))
        {
            fail("tax_code", Problem::TaxCodeCharacters);
        } else if let Some(problem) = tax_code_format(&country, tax_code) {
            fail("tax_code", problem);
        }
        match (billing_type, currency, errors.is_empty()) {
            (Some(billing_type), Some(currency), true) => Ok(BillingProfile {
                billing_type,
                name: name.to_owned(),
                email,
                address: address.to_owned(),
                country,
                currency,
                tax_code: (!tax_code.is_empty()).then(|| tax_code.to_owned()),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> BillingForm {
        BillingForm {
            billing_type: "personal".into(),
            name: "Nguyễn Văn An".into(),
            email: "An@Example.vn".into(),
            address: "12 Lý Thái Tổ, Hoàn Kiếm, Hà Nội".into(),
            country: "VN".into(),
            currency: "VND".into(),
            tax_code: String::new(),
        }
    }

    fn fields(result: Result<BillingProfile, Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_good_form_becomes_a_profile() {
        let p = form().validate().unwrap();
        assert_eq!(
            (p.currency, p.email.as_str(), p.tax_code),
            (Currency::Vnd, "an@example.vn", None)
        );
    }

    #[test]
    fn the_currency_follows_the_country() {
        assert_eq!(
            fields(
                BillingForm {
                    currency: "USD".into(),
                    ..form()
                }
                .validate()
            ),
            ["currency"]
        );
        assert_eq!(
            BillingForm {
                currency: "USD".into(),
                ..form()
            }
            .validate()
            .unwrap_err()[0]
                .problem
                .to_string(),
            "Billing in Viet Nam is in VND."
        );
        let jp = BillingForm {
            country: "JP".into(),
            currency: "JPY".into(),
            ..form()
        };
        assert!(jp.validate().is_ok());
        let de = BillingForm {
            country: "DE".into(),
            currency: "EUR".into(),
            ..form()
        };
        assert!(de.validate().is_ok());
        assert_eq!(
            fields(
                BillingForm {
                    country: "DE".into(),
                    currency: "JPY".into(),
                    ..form()
                }
                .validate()
            ),
            ["currency"]
        );
        assert_eq!(
            fields(
                BillingForm {
                    country: "XX".into(),
                    ..form()
                }
                .validate()
            ),
            ["country"]
        );
    }

    #[test]
    fn vietnamese_and_japanese_tax_codes_are_checked_for_their_format() {
        for good in ["0101234567", "0101234567-001"] {
            assert_eq!(tax_code_format("VN", good), None, "{good}");
        }
        for bad in [
            "010123456",
            "01012345678",
            "0101234567-01",
            "T1234567890123",
            "0101234567 001",
        ] {
            assert!(tax_code_format("VN", bad).is_some(), "{bad}");
        }
        assert_eq!(tax_code_format("JP", "T1234567890123"), None);
        for bad in ["1234567890123", "T123456789012", "X1234567890123"] {
            assert!(tax_code_format("JP", bad).is_some(), "{bad}");
        }
        assert_eq!(tax_code_format("DE", "DE123456789"), None);
        assert_eq!(tax_code_format("VN", ""), None);
    }

    #[test]
    fn a_company_needs_a_tax_code_and_every_problem_is_named() {
        assert_eq!(
            fields(
                BillingForm {
                    billing_type: "company".into(),
                    ..form()
                }
                .validate()
            ),
            ["tax_code"]
        );
        assert!(
            BillingForm {
                billing_type: "company".into(),
                tax_code: "0101234567".into(),
                ..form()
            }
            .validate()
            .is_ok()
        );
        let bad = BillingForm {
            billing_type: String::new(),
            name: " ".into(),
            email: "nope".into(),
            address: "x".into(),
            tax_code: "<script>".into(),
            ..form()
        };
        assert_eq!(
            fields(bad.validate()),
            ["billing_type", "name", "email", "address", "tax_code"]
        );
    }
}
