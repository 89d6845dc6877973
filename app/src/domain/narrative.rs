//! What the ledger's own rows say, in each reader's language.
//!
//! A row's Description is either the caller's text (a usage charge's, an operator's note,
//! a campaign's description: shown as written) or one of ours: a top-up, an expired
//! voucher, a charge-back, a plan's period. Ours are stored typed, as a [`Narrative`] in
//! the row's `narrative` column, and worded when read, so a Vietnamese reader sees them
//! in Vietnamese and an English one in English, whenever the row was written. The
//! `description` column keeps the English words too: the usage API, the operator console
//! and rows written before narratives existed read that.

use crate::i18n::*;
use crate::model::ledger::Service;
use crate::model::settings::Language;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One of the ledger's own kinds of row, with what its words need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Narrative {
    /// Credit bought through a gateway (the Source is the gateway's name).
    TopUp { reference: String },
    /// A voucher's credit: the Source is "Voucher"; the Description is the campaign's.
    VoucherGrant,
    /// What was left of a voucher when it expired.
    VoucherExpired { code: String },
    /// An operator's correction: the Source is Billing Support; the Description is the
    /// operator's note to the customer.
    Adjustment,
    /// A charged-back top-up's credits taken back.
    ChargeBack { reference: String },
    /// New credit paying what a charge-back left owing.
    ChargeBackSettled { reference: String },
    /// A dispute won: the charged-back credits restored.
    DisputeWon { reference: String },
    /// An upgrade's prorated charge, for the local days `first..=last`.
    PlanUpgrade {
        from: String,
        to: String,
        first: NaiveDate,
        last: NaiveDate,
    },
    /// A plan's renewal for the local days `first..=last`.
    PlanRenewal {
        plan: String,
        first: NaiveDate,
        last: NaiveDate,
    },
}

impl Narrative {
    /// The stored form (the `narrative` column).
    pub fn to_json(&self) -> String {
        // A plain enum of strings and dates always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored narrative; `None` for a row without one (or one this build can't read,
    /// whose stored English is then shown).
    pub fn parse(stored: Option<&str>) -> Option<Narrative> {
        serde_json::from_str(stored?).ok()
    }

    /// What the `description` column stores: the English words, or `given` (the
    /// caller's own text) for the kinds whose description is not ours.
    pub fn english(&self, given: &str) -> String {
        self.words(Language::En).unwrap_or_else(|| given.to_owned())
    }

    /// The Description in `language`; `None` where the stored description is the
    /// caller's own text.
    pub fn words(&self, language: Language) -> Option<String> {
        let locale = language.locale();
        Some(match self {
            Narrative::VoucherGrant | Narrative::Adjustment => return None,
            Narrative::TopUp { reference } => {
                td_string!(locale, ledger.top_up, reference).to_string()
            }
            Narrative::VoucherExpired { code } => {
                td_string!(locale, ledger.voucher_expired, code).to_string()
            }
            Narrative::ChargeBack { reference } => {
                td_string!(locale, ledger.charge_back, reference).to_string()
            }
            Narrative::ChargeBackSettled { reference } => {
                td_string!(locale, ledger.charge_back_settled, reference).to_string()
            }
            Narrative::DisputeWon { reference } => {
                td_string!(locale, ledger.dispute_won, reference).to_string()
            }
            Narrative::PlanUpgrade {
                from,
                to,
                first,
                last,
            } => {
                let period = period(*first, *last, language);
                td_string!(locale, ledger.plan_upgrade, from, to, period).to_string()
            }
            Narrative::PlanRenewal { plan, first, last } => {
                let period = period(*first, *last, language);
                td_string!(locale, ledger.plan_renewal, plan, period).to_string()
            }
        })
    }

    /// The Source in `language`, for the kinds whose Source is a word of ours rather
    /// than a name (a gateway, a resource, a plan).
    pub fn source(&self, language: Language) -> Option<String> {
        let locale = language.locale();
        match self {
            Narrative::VoucherGrant | Narrative::VoucherExpired { .. } => {
                Some(td_string!(locale, ledger.voucher).to_owned())
            }
            Narrative::Adjustment => {
                Some(crate::ui::messages::service(locale, Service::BillingSupport).to_owned())
            }
            _ => None,
        }
    }
}

/// What a row's `description` column stores: the narrative's English, or the caller's
/// own words.
pub fn english(narrative: Option<&Narrative>, given: &str) -> String {
    narrative.map_or_else(|| given.to_owned(), |n| n.english(given))
}

/// A ledger row's Source and Description as `language` reads them: the narrative's
/// words where the row has one, the stored text otherwise (borrowed: a million-row
/// export reads mostly usage charges, which have none).
pub fn shown<'a>(
    stored: Option<&str>,
    source: &'a str,
    description: &'a str,
    language: Language,
) -> (Cow<'a, str>, Cow<'a, str>) {
    let Some(narrative) = Narrative::parse(stored) else {
        return (Cow::Borrowed(source), Cow::Borrowed(description));
    };
    (
        narrative
            .source(language)
            .map_or(Cow::Borrowed(source), Cow::Owned),
        narrative
            .words(language)
            .map_or(Cow::Borrowed(description), Cow::Owned),
    )
}

/// A run of local days as each language writes it short: "12–31 Dec" or
/// "28 Dec – 27 Jan" in English, "12/12 – 31/12" in Vietnamese, 「12月12日～1月11日」 in
/// Japanese.
pub fn period(first: NaiveDate, last: NaiveDate, language: Language) -> String {
    match language {
        Language::En if (first.year(), first.month()) == (last.year(), last.month()) => {
            format!("{}–{}", first.day(), last.format("%-d %b"))
        }
        Language::En => format!("{} – {}", first.format("%-d %b"), last.format("%-d %b")),
        Language::Vi => format!("{} – {}", first.format("%d/%m"), last.format("%d/%m")),
        Language::Ja => format!(
            "{}月{}日～{}月{}日",
            first.month(),
            first.day(),
            last.month(),
            last.day()
        ),
    }
}

/// The local days a period covers: from `start`'s day to the day before `end` (which is
/// exclusive), both already in the customer's time zone.
pub fn days<Tz: chrono::TimeZone>(
    start: &chrono::DateTime<Tz>,
    end: &chrono::DateTime<Tz>,
) -> (NaiveDate, NaiveDate) {
    let last = end.clone() - chrono::Duration::seconds(1);
    (start.date_naive(), last.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn upgrade(first: NaiveDate, last: NaiveDate) -> Narrative {
        Narrative::PlanUpgrade {
            from: "Free".into(),
            to: "Pro".into(),
            first,
            last,
        }
    }

    #[test]
    fn plan_periods_read_as_each_language_writes_dates() {
        let within = upgrade(day(2026, 12, 12), day(2026, 12, 31));
        assert_eq!(
            within.english(""),
            "Upgrade Free \u{2192} Pro, 12\u{2013}31 Dec"
        );
        let across = upgrade(day(2026, 12, 28), day(2027, 1, 27));
        assert_eq!(
            across.english(""),
            "Upgrade Free \u{2192} Pro, 28 Dec \u{2013} 27 Jan"
        );
        let words = |language| across.words(language).unwrap_or_default();
        assert!(
            words(Language::Vi).contains("28/12 \u{2013} 27/01"),
            "{}",
            words(Language::Vi)
        );
        assert!(
            words(Language::Ja).contains("12月28日～1月27日"),
            "{}",
            words(Language::Ja)
        );
        let renewal = Narrative::PlanRenewal {
            plan: "Pro".into(),
            first: day(2026, 12, 12),
            last: day(2027, 1, 11),
        };
        assert_eq!(renewal.english(""), "Pro plan, 12 Dec \u{2013} 11 Jan");
    }

    #[test]
    fn the_callers_own_text_stays_as_written() {
        let (source, description) = shown(
            Some(&Narrative::Adjustment.to_json()),
            "Billing Support",
            "Credit for the GPU outage",
            Language::Ja,
        );
        assert_ne!(source, "Billing Support");
        assert_eq!(description, "Credit for the GPU outage");
        assert_eq!(
            Narrative::VoucherGrant.english("Welcome credits"),
            "Welcome credits"
        );
    }

    #[test]
    fn rows_without_a_narrative_show_what_was_stored() {
        for stored in [
            None,
            Some("not json"),
            Some(r#"{"kind":"from_the_future"}"#),
        ] {
            let (source, description) = shown(stored, "VNPay", "Credit top-up TU-1", Language::Vi);
            assert_eq!((&*source, &*description), ("VNPay", "Credit top-up TU-1"));
        }
    }

    #[test]
    fn a_stored_narrative_reads_back_in_every_language() {
        let top_up = Narrative::TopUp {
            reference: "TU-7".into(),
        };
        let stored = top_up.to_json();
        assert_eq!(Narrative::parse(Some(&stored)), Some(top_up.clone()));
        assert_eq!(top_up.english(""), "Credit top-up TU-7");
        for language in [Language::Vi, Language::Ja] {
            let words = top_up.words(language).unwrap_or_default();
            assert!(
                words.contains("TU-7") && words != "Credit top-up TU-7",
                "{words}"
            );
        }
    }
}
