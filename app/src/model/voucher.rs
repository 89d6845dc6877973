//! Voucher codes as people type them, campaigns as operators describe them, and what the
//! Voucher List shows. No I/O: the same rules run in the browser and on the server.
//!
//! Two kinds of code:
//! - a **shared** code the operator chooses (`WELCOME-VND`): 4 to 16 letters and digits,
//!   dashes and spaces ignored, case ignored;
//! - a **generated** single-use code: 16 symbols of Crockford Base32 (80 bits from the
//!   OS's CSPRNG) and Crockford's check symbol (the value mod 37), shown grouped as
//!   `XXXX-XXXX-XXXX-XXXX-C`. Typed back, I and L read as 1 and O as 0, and a wrong check
//!   symbol is a typo found without asking the database.
//!
//! A normalised code of 17 symbols is always read as a generated code, which is why a
//! shared code is at most 16.

use super::billing::FieldError;
use super::ledger::Balances;
use super::money::{Currency, Money};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Crockford's Base32 alphabet: digits and letters without I, L, O, U.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Crockford's five extra check symbols, for check values 32 to 36.
const CHECK_EXTRA: &[u8; 5] = b"*~$=U";
/// Symbols in a generated code before its check symbol (16 × 5 = 80 bits).
pub const GENERATED_SYMBOLS: usize = 16;
/// Shared codes' length limits, once dashes and spaces are removed.
pub const SHARED_MIN: usize = 4;
pub const SHARED_MAX: usize = 16;
/// The most codes one batch may hold from the web page (the CLI allows more).
pub const WEB_BATCH_MAX: u32 = 10_000;

/// A code as typed, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypedCode {
    /// Upper case, no dashes or spaces.
    Shared(String),
    /// The 17 canonical symbols (look-alikes mapped, check symbol included).
    Generated(String),
}

impl TypedCode {
    /// The text whose hash finds the code.
    pub fn normalised(&self) -> &str {
        match self {
            TypedCode::Shared(s) | TypedCode::Generated(s) => s,
        }
    }

    /// The code as the customer sees it in their history and Voucher List.
    pub fn display(&self) -> String {
        match self {
            TypedCode::Shared(s) => s.clone(),
            TypedCode::Generated(s) => group(s),
        }
    }
}

/// Why typed text is not a code we could hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CodeError {
    #[error("Enter a voucher code.")]
    Empty,
    /// Right length for a generated code, but its check symbol disagrees.
    #[error("This code has a typo: check each character and try again.")]
    Typo,
    /// No code of ours looks like this (length or characters).
    #[error("This voucher code does not exist. Check it and try again.")]
    NotACode,
}

/// The value of one body symbol, reading I and L as 1 and O as 0 (Crockford decoding).
fn symbol_value(c: u8) -> Option<u8> {
    let c = match c {
        b'I' | b'L' => b'1',
        b'O' => b'0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// The value of a check symbol (0–36).
fn check_value(c: u8) -> Option<u8> {
    symbol_value(c).or_else(|| {
        CHECK_EXTRA
            .iter()
            .position(|&a| a == c)
            .and_then(|p| u8::try_from(p + 32).ok())
    })
}

/// Crockford's check symbol of an 80-bit value: the value mod 37 (a prime, so every
/// single wrong symbol and every swap of neighbours changes it).
pub fn check_symbol(value: u128) -> u8 {
    let index = usize::try_from(value % 37).unwrap_or(0);
    if index < 32 {
        ALPHABET[index]
    } else {
        CHECK_EXTRA[index - 32]
    }
}

/// The 17 canonical symbols of an 80-bit value, or `None` when its check symbol would be
/// one of Crockford's extra symbols (`*~$=U`), which nobody should have to type; the
/// generator draws again (so codes carry log2(32/37) ≈ 0.2 bits less than 80).
pub fn encode_generated(value: u128) -> Option<String> {
    let value = value & ((1u128 << 80) - 1);
    let check = check_symbol(value);
    if !ALPHABET.contains(&check) {
        return None;
    }
    let mut out = String::with_capacity(GENERATED_SYMBOLS + 1);
    for i in (0..GENERATED_SYMBOLS).rev() {
        let index = usize::try_from((value >> (i * 5)) & 31).unwrap_or(0);
        out.push(char::from(ALPHABET[index]));
    }
    out.push(char::from(check));
    Some(out)
}

/// `XXXX-XXXX-XXXX-XXXX-C` from 17 canonical symbols.
pub fn group(canonical: &str) -> String {
    let mut out = String::with_capacity(canonical.len() + 4);
    for (i, c) in canonical.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// Reads a typed code: case, spaces and dashes do not matter.
pub fn read_code(typed: &str) -> Result<TypedCode, CodeError> {
    let text: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    if text.is_empty() {
        return Err(CodeError::Empty);
    }
    let bytes = text.as_bytes();
    if bytes.len() == GENERATED_SYMBOLS + 1 {
        let mut value: u128 = 0;
        let mut canonical = String::with_capacity(bytes.len());
        for &c in &bytes[..GENERATED_SYMBOLS] {
            let v = symbol_value(c).ok_or(CodeError::Typo)?;
            value = (value << 5) | u128::from(v);
            canonical.push(char::from(ALPHABET[usize::from(v)]));
        }
        let check = check_value(bytes[GENERATED_SYMBOLS]).ok_or(CodeError::Typo)?;
        if value % 37 != u128::from(check) {
            return Err(CodeError::Typo);
        }
        canonical.push(char::from(check_symbol(value)));
        return Ok(TypedCode::Generated(canonical));
    }
    if (SHARED_MIN..=SHARED_MAX).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return Ok(TypedCode::Shared(text));
    }
    Err(CodeError::NotACode)
}

/// When a campaign's credits expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreditExpiry {
    Never,
    /// At this instant, whenever they were redeemed.
    On(DateTime<Utc>),
    /// This many days after each redemption.
    DaysAfter(u32),
}

impl CreditExpiry {
    /// When credits redeemed at `at` expire.
    pub fn for_redemption_at(self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            CreditExpiry::Never => None,
            CreditExpiry::On(when) => Some(when),
            CreditExpiry::DaysAfter(days) => Some(at + Duration::days(i64::from(days))),
        }
    }
}

/// A campaign's codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CampaignCodes {
    /// One code many accounts redeem (upper case, as the operator wrote it).
    Shared(String),
    /// This many generated single-use codes.
    Batch(u32),
}

/// A campaign as checked, ready to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCampaign {
    pub name: String,
    pub description: String,
    pub amounts: Vec<Money>,
    pub codes: CampaignCodes,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub credit_expiry: CreditExpiry,
    pub max_redemptions: Option<i64>,
    pub per_account_limit: i32,
}

/// The create-campaign form as typed. Dates are `YYYY-MM-DD`, read as UTC days: a
/// campaign is valid from the start of its first day to the end of its last, and
/// fixed-date credits expire at the end of that day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignForm {
    pub name: String,
    pub description: String,
    pub amount_vnd: String,
    pub amount_jpy: String,
    pub amount_usd: String,
    pub amount_eur: String,
    /// `shared` or `batch`.
    pub kind: String,
    pub code: String,
    pub count: String,
    pub valid_from: String,
    pub valid_until: String,
    /// `never`, `date` or `days`.
    pub expiry: String,
    pub expires_on: String,
    pub expires_after_days: String,
    pub max_redemptions: String,
    pub per_account_limit: String,
}

impl CampaignForm {
    /// The amount field of a currency.
    pub fn amount(&self, currency: Currency) -> &str {
        match currency {
            Currency::Vnd => &self.amount_vnd,
            Currency::Jpy => &self.amount_jpy,
            Currency::Usd => &self.amount_usd,
            Currency::Eur => &self.amount_eur,
        }
    }

    /// Checks every field; each problem names its field. `batch_max` is the largest
    /// batch allowed where the form was sent from.
    pub fn validate(&self, batch_max: u32) -> Result<NewCampaign, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| {
            errors.push(FieldError::text(field, message));
        };
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            fail("name", "Enter a name of 1 to 100 characters.".into());
        }
        let description = self.description.trim();
        if description.is_empty() || description.chars().count() > 300 {
            fail(
                "description",
                "Enter what the customer sees, 1 to 300 characters.".into(),
            );
        }
        let mut amounts = Vec::new();
        let mut amount_refused = false;
        for currency in Currency::ALL {
            let text = self.amount(currency).trim();
            if text.is_empty() {
                continue;
            }
            match Money::parse_positive(text, currency) {
                Ok(m) => amounts.push(m),
                Err(e) => {
                    amount_refused = true;
                    fail(
                        &format!("amount_{}", currency.code().to_lowercase()),
                        e.to_string(),
                    );
                }
            }
        }
        if amounts.is_empty() && !amount_refused {
            fail(
                "amount_vnd",
                "Enter an amount in at least one currency.".into(),
            );
        }
        let codes = match self.kind.as_str() {
            "shared" => match read_code(&self.code) {
                Ok(TypedCode::Shared(_)) => {
                    let shown: String = self
                        .code
                        .trim()
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .flat_map(char::to_uppercase)
                        .collect();
                    Some(CampaignCodes::Shared(shown))
                }
                _ => {
                    fail(
                        "code",
                        format!(
                            "A shared code has {SHARED_MIN} to {SHARED_MAX} letters and digits (dashes allowed)."
                        ),
                    );
                    None
                }
            },
            "batch" => match self.count.trim().parse::<u32>() {
                Ok(n) if (1..=batch_max).contains(&n) => Some(CampaignCodes::Batch(n)),
                _ => {
                    fail(
                        "count",
                        format!("Enter how many codes to generate, 1 to {batch_max}."),
                    );
                    None
                }
            },
            _ => {
                fail("kind", "Choose a shared code or a batch of codes.".into());
                None
            }
        };
        let day = |field: &str, text: &str, fail: &mut dyn FnMut(&str, String)| {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
                Err(_) => {
                    fail(field, "Enter a date as YYYY-MM-DD.".into());
                    None
                }
            }
        };
        let valid_from = day("valid_from", &self.valid_from, &mut fail);
        let valid_until =
            day("valid_until", &self.valid_until, &mut fail).map(|d| d + Duration::days(1));
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until <= from
        {
            fail(
                "valid_until",
                "The last day cannot be before the first.".into(),
            );
        }
        let credit_expiry = match self.expiry.as_str() {
            "" | "never" => CreditExpiry::Never,
            "date" => match day("expires_on", &self.expires_on, &mut fail) {
                Some(d) => {
                    let end = d + Duration::days(1);
                    if valid_until.is_some_and(|u| end < u) {
                        fail(
                            "expires_on",
                            "Credits would expire before the code stops being valid.".into(),
                        );
                    }
                    CreditExpiry::On(end)
                }
                None => {
                    if self.expires_on.trim().is_empty() {
                        fail("expires_on", "Enter the date the credits expire.".into());
                    }
                    CreditExpiry::Never
                }
            },
            "days" => match self.expires_after_days.trim().parse::<u32>() {
                Ok(n) if (1..=3650).contains(&n) => CreditExpiry::DaysAfter(n),
                _ => {
                    fail(
                        "expires_after_days",
                        "Enter a number of days from 1 to 3650.".into(),
                    );
                    CreditExpiry::Never
                }
            },
            _ => {
                fail("expiry", "Choose when the credits expire.".into());
                CreditExpiry::Never
            }
        };
        let max_redemptions = match self.max_redemptions.trim() {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    fail(
                        "max_redemptions",
                        "Enter a whole number of at least 1, or leave it empty for no cap.".into(),
                    );
                    None
                }
            },
        };
        let per_account_limit = match self.per_account_limit.trim() {
            "" => 1,
            text => match text.parse::<i32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    fail(
                        "per_account_limit",
                        "Enter how many times one account may redeem it, 1 to 1000.".into(),
                    );
                    1
                }
            },
        };
        match codes {
            Some(codes) if errors.is_empty() => Ok(NewCampaign {
                name: name.to_owned(),
                description: description.to_owned(),
                amounts,
                codes,
                valid_from,
                valid_until,
                credit_expiry,
                max_redemptions,
                per_account_limit,
            }),
            _ => Err(errors),
        }
    }
}

/// What a successful Apply Code gives back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redeemed {
    pub code: String,
    pub amount: Money,
    /// When the credits expire, in the customer's time zone; `None` if never.
    pub expires_at: Option<String>,
    /// The account's balances with the credits added.
    pub balances: Balances,
}

/// A voucher's state in the Voucher List.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoucherState {
    Active,
    UsedUp,
    Expired,
}

impl VoucherState {
    pub fn label(self) -> &'static str {
        match self {
            VoucherState::Active => "Active",
            VoucherState::UsedUp => "Used up",
            VoucherState::Expired => "Expired",
        }
    }
}

/// One redeemed voucher: granted = used + expired + remaining.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherRow {
    pub code: String,
    pub campaign: String,
    pub description: String,
    pub granted: Money,
    pub used: Money,
    pub expired: Money,
    pub remaining: Money,
    pub redeemed_at: String,
    pub expires_at: Option<String>,
    pub state: VoucherState,
}

/// The Voucher List: active first (soonest-expiring first), then used up and expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherList {
    pub rows: Vec<VoucherRow>,
    pub granted: Money,
    pub used: Money,
    pub expired: Money,
    pub remaining: Money,
}

/// A campaign's money in one currency, for the operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignFigures {
    pub granted: Money,
    pub spent: Money,
    pub expired: Money,
    pub remaining: Money,
}

/// A campaign as the operator's Vouchers page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// The shared code, or e.g. "500 single-use codes".
    pub codes: String,
    pub amounts: Vec<Money>,
    /// e.g. "2026-11-01 – 2026-12-31 (UTC)" or "Always".
    pub window: String,
    /// e.g. "30 days after redemption".
    pub credit_expiry: String,
    pub redemptions: i64,
    pub max_redemptions: Option<i64>,
    pub per_account_limit: i32,
    pub enabled: bool,
    pub figures: Vec<CampaignFigures>,
}

/// A campaign just created; a batch's codes come back this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedCampaign {
    pub id: i64,
    pub name: String,
    /// The grouped codes of a batch (empty for a shared code).
    pub codes: Vec<String>,
}

impl CreatedCampaign {
    /// The batch as CSV: a header, then one code per line.
    pub fn csv(&self) -> String {
        let mut out = String::from("code\n");
        for code in &self.codes {
            out.push_str(code);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_code_reads_back_with_odd_case_dashes_and_look_alikes() {
        let canonical = (0u128..)
            .map(|i| encode_generated(i * 0x1234_5678_9abc_def1))
            .find_map(|c| c.filter(|c| c.contains('1') && c.contains('0')))
            .unwrap_or_default();
        let typed = group(&canonical)
            .to_lowercase()
            .replacen('1', "l", 1)
            .replacen('0', "O", 1);
        assert_eq!(
            read_code(&format!("  {typed} ")),
            Ok(TypedCode::Generated(canonical.clone()))
        );
        assert_eq!(
            read_code(&canonical.replace('1', "I")),
            Ok(TypedCode::Generated(canonical))
        );
    }

    #[test]
    fn one_wrong_symbol_or_a_swap_is_a_typo() {
        let canonical = encode_generated(0x0123_4567_89ab_cdef_0123).unwrap_or_default();
        let bytes = canonical.as_bytes();
        for i in 0..GENERATED_SYMBOLS {
            for &other in ALPHABET {
                if other == bytes[i] {
                    continue;
                }
                let mut wrong = bytes.to_vec();
                wrong[i] = other;
                let wrong = String::from_utf8(wrong).unwrap_or_default();
                assert_eq!(read_code(&wrong), Err(CodeError::Typo), "{wrong}");
            }
            if i + 1 < GENERATED_SYMBOLS && bytes[i] != bytes[i + 1] {
                let mut swapped = bytes.to_vec();
                swapped.swap(i, i + 1);
                let swapped = String::from_utf8(swapped).unwrap_or_default();
                assert_eq!(read_code(&swapped), Err(CodeError::Typo), "{swapped}");
            }
        }
    }

    #[test]
    fn shared_codes_ignore_case_dashes_and_spaces() {
        assert_eq!(
            read_code("welcome-vnd"),
            Ok(TypedCode::Shared("WELCOMEVND".into()))
        );
        assert_eq!(
            read_code(" Welcome VND "),
            Ok(TypedCode::Shared("WELCOMEVND".into()))
        );
        assert_eq!(read_code(""), Err(CodeError::Empty));
        assert_eq!(read_code("  - "), Err(CodeError::Empty));
        assert_eq!(read_code("abc"), Err(CodeError::NotACode));
        assert_eq!(read_code("WELCOME!"), Err(CodeError::NotACode));
        assert_eq!(read_code(&"A".repeat(18)), Err(CodeError::NotACode));
    }

    #[test]
    fn generated_codes_never_end_in_an_extra_check_symbol() {
        let mut drawn = 0;
        for i in 0u128..2000 {
            if let Some(code) = encode_generated(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) {
                drawn += 1;
                assert_eq!(code.len(), 17);
                assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            }
        }
        // About 32 in 37 values make a code.
        assert!((1600..1860).contains(&drawn), "{drawn}");
    }

    fn form() -> CampaignForm {
        CampaignForm {
            name: "Welcome".into(),
            description: "Welcome credits".into(),
            amount_vnd: "100000".into(),
            kind: "shared".into(),
            code: "welcome-2026".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_campaign_form_is_checked_field_by_field() {
        let ok = form().validate(WEB_BATCH_MAX);
        let Ok(campaign) = ok else {
            panic!("{ok:?}");
        };
        assert_eq!(campaign.codes, CampaignCodes::Shared("WELCOME-2026".into()));
        assert_eq!(campaign.per_account_limit, 1);
        assert_eq!(campaign.credit_expiry, CreditExpiry::Never);

        let bad = CampaignForm {
            name: String::new(),
            amount_vnd: "12.5".into(),
            kind: "batch".into(),
            count: "20000".into(),
            valid_from: "2026-12-01".into(),
            valid_until: "2026-11-01".into(),
            expiry: "days".into(),
            expires_after_days: "0".into(),
            max_redemptions: "-1".into(),
            ..form()
        };
        let fields: Vec<String> = bad
            .validate(WEB_BATCH_MAX)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "amount_vnd",
                "count",
                "valid_until",
                "expires_after_days",
                "max_redemptions"
            ]
        );
    }
}
