//! Billing plans as the pages see them, and their arithmetic: monthly periods and the
//! prorated price of an upgrade. No I/O; the rules that change plans live in
//! `crate::domain::plan` (see docs/decisions.md, "Plans").

use super::ledger::Balances;
use super::money::{Currency, Money};
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

/// A plan as an operator types it (console form or CLI flags): all text, checked by
/// [`PlanForm::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanForm {
    pub code: String,
    pub name: String,
    pub description: String,
    /// One feature per line.
    pub features: String,
    /// One `name=value` per line, e.g. `max_gpu_containers=4`.
    pub limits: String,
    pub price_vnd: String,
    pub price_jpy: String,
    pub price_usd: String,
    pub price_eur: String,
    pub rank: String,
    pub is_default: bool,
    pub active: bool,
}

/// A checked plan: what `domain::plan::define` stores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSpec {
    pub code: String,
    pub name: String,
    pub description: String,
    pub features: Vec<String>,
    /// Limit names and their values as typed (numbers and true/false stay typed in the
    /// JSON services read).
    pub limits: Vec<(String, String)>,
    pub prices: Vec<Money>,
    pub rank: i32,
    pub is_default: bool,
    pub active: bool,
}

impl PlanForm {
    /// Checks every field; each problem is reported beside its field.
    pub fn validate(&self) -> Result<PlanSpec, Vec<super::billing::FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| {
            errors.push(super::billing::FieldError::text(field, message));
        };
        let mut prices = Vec::new();
        for (field, text, currency) in [
            ("price_vnd", &self.price_vnd, Currency::Vnd),
            ("price_jpy", &self.price_jpy, Currency::Jpy),
            ("price_usd", &self.price_usd, Currency::Usd),
            ("price_eur", &self.price_eur, Currency::Eur),
        ] {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match Money::parse_positive(text, currency) {
                Ok(price) => prices.push(price),
                Err(e) => fail(field, format!("{e}")),
            }
        }
        let mut limits = Vec::new();
        for line in self.limits.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.split_once('=') {
                Some((name, value))
                    if !name.trim().is_empty()
                        && name
                            .trim()
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    limits.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                _ => {
                    fail(
                        "limits",
                        format!(
                            "Write one limit a line as name=value, such as max_gpu_containers=4 (not {line:?})."
                        ),
                    );
                    break;
                }
            }
        }
        let rank = if self.rank.trim().is_empty() {
            0
        } else {
            self.rank.trim().parse::<i32>().unwrap_or_else(|_| {
                fail("rank", "The display order is a whole number.".into());
                0
            })
        };
        let spec = PlanSpec {
            code: self.code.trim().to_lowercase(),
            name: self.name.trim().to_owned(),
            description: self.description.trim().to_owned(),
            features: self
                .features
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            limits,
            prices,
            rank,
            is_default: self.is_default,
            active: self.active || self.is_default,
        };
        for problem in spec.problems() {
            errors.push(problem);
        }
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors)
        }
    }
}

impl PlanSpec {
    /// What is wrong with this plan, field by field (nothing: it can be stored). The
    /// one place a plan's rules live, for the console, the CLI and any other caller.
    pub fn problems(&self) -> Vec<super::billing::FieldError> {
        let mut out = Vec::new();
        let mut fail = |field: &str, message: &str| {
            out.push(super::billing::FieldError::text(field, message.to_owned()));
        };
        if self.code.is_empty()
            || self.code.len() > 32
            || !self
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            fail(
                "code",
                "A plan code has 1 to 32 lowercase letters, digits, '_' or '-'.",
            );
        }
        if self.name.is_empty() || self.name.chars().count() > 60 {
            fail("name", "A plan name has 1 to 60 characters.");
        }
        if self.description.chars().count() > 300 {
            fail("description", "A description has at most 300 characters.");
        }
        if self
            .features
            .iter()
            .any(|f| f.contains('\n') || f.chars().count() > 120)
        {
            fail(
                "features",
                "Each feature is one line of at most 120 characters.",
            );
        }
        if self.is_default && !self.prices.is_empty() {
            fail("price_vnd", "The default plan is free: it has no prices.");
        }
        if !self.is_default && self.prices.is_empty() {
            fail(
                "price_vnd",
                "A paid plan needs a price in at least one currency.",
            );
        }
        let mut seen = Vec::new();
        for price in &self.prices {
            if seen.contains(&price.currency()) {
                fail("price_vnd", "One price per currency.");
            }
            seen.push(price.currency());
        }
        out
    }
}

/// A plan as the operators' console lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub code: String,
    pub name: String,
    pub description: String,
    pub features: Vec<String>,
    pub prices: Vec<Money>,
    /// The JSON object services read.
    pub limits: String,
    pub rank: i32,
    pub is_default: bool,
    pub active: bool,
    /// Accounts on it now (the default plan: those that ever changed plans and came back).
    pub subscribers: u64,
}

/// What the Billing Plans tab shows: every plan offered in the account's currency,
/// cheapest first, and where the account stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlansPage {
    pub plans: Vec<PlanOffer>,
    pub current: CurrentPlan,
}

/// One plan as offered to an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanOffer {
    pub code: String,
    pub name: String,
    pub description: String,
    pub features: Vec<String>,
    /// Per month, in the account's currency.
    pub price: Money,
    pub action: PlanAction,
}

/// What the customer can do with a plan from where they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanAction {
    /// It is the account's plan.
    Current,
    /// Costs more: changes now, the difference for the rest of the period paid now.
    Upgrade,
    /// Costs less: changes at the end of the period, charging nothing now.
    Downgrade,
    /// A downgrade or cancellation to this plan is already scheduled.
    Scheduled,
}

/// The account's plan, its period and anything pending.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentPlan {
    pub code: String,
    pub name: String,
    pub price: Money,
    pub is_free: bool,
    /// The current period's first day and the day it renews, in the user's dates.
    pub period_start: String,
    pub renews_on: String,
    pub scheduled: Option<ScheduledChange>,
    /// Set while a renewal is unpaid.
    pub grace: Option<Grace>,
}

/// A downgrade or cancellation waiting for the end of the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduledChange {
    pub to_code: String,
    pub to_name: String,
    /// Cancellation: back to the free plan.
    pub cancel: bool,
    pub on: String,
}

/// An unpaid renewal: the plan stays until `until`, then the free plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grace {
    pub until: String,
    pub due: Money,
    pub shortfall: Money,
}

/// What an upgrade would charge, shown before Confirm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpgradePreview {
    pub from_name: String,
    pub to_code: String,
    pub to_name: String,
    pub amount: Money,
    /// What the charge covers, in the reader's language: "Upgrade Free → Pro, 12–31 Dec".
    pub covers: String,
    /// The renewal after it, at the new plan's full price.
    pub renews_on: String,
    pub renewal_price: Money,
    pub balances: Balances,
    /// How much is missing, and what Add credit should start with (the shortfall raised
    /// to the minimum top-up).
    pub shortfall: Option<Shortfall>,
}

/// A balance too short for a plan charge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    pub missing: Money,
    pub top_up: Money,
}

/// What a plan change did, for the page to say in the reader's language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// Now on `plan`; `paid` was taken from the balance (zero: nothing).
    Now { plan: String, paid: Money },
    /// Moves to `plan` once the unpaid renewal is paid.
    AfterRenewalPaid { plan: String },
    /// Moves to `plan` on `on` (the reader's date); undoable until then.
    On { plan: String, on: String },
    /// The scheduled change was undone.
    Undone,
}

/// A plan change made: what the customer is told, and the balances after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanChanged {
    pub change: Change,
    pub balances: Option<Balances>,
}

/// Why an upgrade's price cannot be worked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProrationError {
    #[error("the prices are in different currencies")]
    CurrencyMismatch,
    #[error("the change is outside the current period")]
    OutsidePeriod,
}

/// The end of a monthly period that starts at `start`: the same day of the next month,
/// or that month's last day when it is shorter (31 Jan → 28/29 Feb), at the same time.
pub fn period_end(start: DateTime<Utc>) -> DateTime<Utc> {
    start
        .checked_add_months(Months::new(1))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The `n`-th monthly period's start after `anchor` (n = 0 is `anchor`), counted from the
/// anchor rather than chained, so a period that began on the 31st keeps coming back to
/// the 31st wherever a month has one (31 Jan → 28 Feb → 31 Mar).
pub fn period_start(anchor: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    anchor
        .checked_add_months(Months::new(n))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What an upgrade from a plan priced `from` to one priced `to` (per period) costs at
/// `at`, within the period `[start, end)`: the price difference times the share of the
/// period still to come, measured in seconds,
///
/// ```text
/// charge = floor((to − from) × (end − at) / (end − start))   in minor units
/// ```
///
/// rounded down to the currency's minor unit, so any rounding is in the customer's
/// favour. Never negative: a cheaper plan is a downgrade, which charges nothing.
pub fn upgrade_charge(
    from: Money,
    to: Money,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Money, ProrationError> {
    let currency: Currency = to.currency();
    if from.currency() != currency {
        return Err(ProrationError::CurrencyMismatch);
    }
    if !(start <= at && at < end) {
        return Err(ProrationError::OutsidePeriod);
    }
    let difference = to.to_minor().unwrap_or(0) - from.to_minor().unwrap_or(0);
    if difference <= 0 {
        return Ok(Money::zero(currency));
    }
    let left = i128::from((end - at).num_seconds());
    let whole = i128::from((end - start).num_seconds()).max(1);
    // i128: a price of 10^15 minor units times a month of seconds does not overflow.
    let charge = i128::from(difference) * left / whole;
    Ok(Money::from_minor(
        i64::try_from(charge).unwrap_or(i64::MAX),
        currency,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn periods_are_calendar_months_and_keep_their_day() {
        assert_eq!(period_end(t(2026, 11, 12, 9)), t(2026, 12, 12, 9));
        assert_eq!(period_end(t(2027, 1, 31, 0)), t(2027, 2, 28, 0));
        assert_eq!(period_end(t(2028, 1, 31, 0)), t(2028, 2, 29, 0));
        assert_eq!(period_start(t(2027, 1, 31, 0), 2), t(2027, 3, 31, 0));
        assert_eq!(period_start(t(2027, 1, 31, 0), 1), t(2027, 2, 28, 0));
    }

    #[test]
    fn an_upgrade_costs_the_difference_for_the_time_left_rounded_down() {
        let (start, end) = (t(2026, 12, 1, 0), t(2027, 1, 1, 0)); // 31 days
        let at = t(2026, 12, 22, 0); // 10 days left
        let vnd = |n| Money::from_minor(n, Currency::Vnd);
        let jpy = |n| Money::from_minor(n, Currency::Jpy);
        let usd = |n| Money::from_minor(n, Currency::Usd);
        let eur = |n| Money::from_minor(n, Currency::Eur);
        // 200,000 × 10/31 = 64,516.129… → 64,516 ₫.
        assert_eq!(
            upgrade_charge(vnd(0), vnd(200_000), start, end, at),
            Ok(vnd(64_516))
        );
        // ¥3,000 → ¥9,800: 6,800 × 10/31 = 2,193.548… → ¥2,193.
        assert_eq!(
            upgrade_charge(jpy(3_000), jpy(9_800), start, end, at),
            Ok(jpy(2_193))
        );
        // $19.00 → $49.00: 3,000 cents × 10/31 = 967.74… → $9.67.
        assert_eq!(
            upgrade_charge(usd(1_900), usd(4_900), start, end, at),
            Ok(usd(967))
        );
        // 18,00 € → 45,00 €: 2,700 × 10/31 = 870.96… → 8,70 €.
        assert_eq!(
            upgrade_charge(eur(1_800), eur(4_500), start, end, at),
            Ok(eur(870))
        );
        // At the very start, the whole difference; a second before the end, nothing
        // (rounded down).
        assert_eq!(
            upgrade_charge(usd(1_900), usd(4_900), start, end, start),
            Ok(usd(3_000))
        );
        let last = end - chrono::Duration::seconds(1);
        assert_eq!(
            upgrade_charge(vnd(0), vnd(200_000), start, end, last),
            Ok(vnd(0))
        );
        // A cheaper plan charges nothing; other currencies and times are refused.
        assert_eq!(
            upgrade_charge(usd(4_900), usd(1_900), start, end, at),
            Ok(usd(0))
        );
        assert_eq!(
            upgrade_charge(usd(0), vnd(1), start, end, at),
            Err(ProrationError::CurrencyMismatch)
        );
        assert_eq!(
            upgrade_charge(usd(0), usd(1), start, end, end),
            Err(ProrationError::OutsidePeriod)
        );
    }

    #[test]
    fn the_charge_never_exceeds_the_difference_and_grows_with_the_time_left() {
        let (start, end) = (t(2027, 2, 1, 0), t(2027, 3, 1, 0));
        let vnd = |n| Money::from_minor(n, Currency::Vnd);
        let mut previous = i64::MAX;
        let mut at = start;
        while at < end {
            let charge = upgrade_charge(vnd(0), vnd(1_234_567), start, end, at)
                .ok()
                .and_then(|m| m.to_minor())
                .unwrap_or(-1);
            assert!((0..=1_234_567).contains(&charge));
            assert!(charge <= previous);
            previous = charge;
            at += chrono::Duration::minutes(97);
        }
    }

    #[test]
    fn a_plan_form_is_checked_field_by_field() {
        let form = PlanForm {
            code: "Pro".into(),
            name: "Pro".into(),
            features: "4 GPU containers\n\n Email support ".into(),
            limits: "max_gpu_containers=4\nsupport = email".into(),
            price_vnd: "499000".into(),
            price_usd: "19.00".into(),
            rank: "1".into(),
            active: true,
            ..Default::default()
        };
        let spec = form.validate().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(spec.code, "pro");
        assert_eq!(spec.features, ["4 GPU containers", "Email support"]);
        assert_eq!(
            spec.limits,
            [
                ("max_gpu_containers".to_owned(), "4".to_owned()),
                ("support".to_owned(), "email".to_owned())
            ]
        );
        assert_eq!(
            spec.prices,
            [
                Money::from_minor(499_000, Currency::Vnd),
                Money::from_minor(1_900, Currency::Usd)
            ]
        );
        let bad = PlanForm {
            code: "pro plan".into(),
            limits: "gpus: 4".into(),
            price_jpy: "12.5".into(),
            rank: "first".into(),
            ..Default::default()
        };
        let fields: Vec<String> = bad
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["price_jpy", "limits", "rank", "code", "name", "price_vnd"]
        );
        // The free plan has no prices.
        let free = PlanForm {
            code: "free".into(),
            name: "Free".into(),
            price_vnd: "1".into(),
            is_default: true,
            ..Default::default()
        };
        assert!(free.validate().is_err());
    }
}
