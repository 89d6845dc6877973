//! The Settings tab: billing details (the billing form), and display preferences —
//! language, time zone, date format — checked the same way in the browser and on the
//! server.

use super::billing::{BillingForm, FieldError};
use super::money::Currency;
use chrono::{DateTime, TimeZone};
use serde::{Deserialize, Serialize};

/// The languages the customer's pages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Language {
    En,
    Vi,
    Ja,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::En, Language::Vi, Language::Ja];

    /// The stored name (a BCP 47 tag).
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Vi => "vi",
            Language::Ja => "ja",
        }
    }

    pub fn parse(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// Each language by its own name, as a switcher lists them.
    pub fn label(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Vi => "Tiếng Việt",
            Language::Ja => "日本語",
        }
    }
}

/// How dates read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateFormat {
    /// 2026-11-25
    Ymd,
    /// 25/11/2026
    Dmy,
    /// 11/25/2026
    Mdy,
}

impl DateFormat {
    pub const ALL: [DateFormat; 3] = [DateFormat::Ymd, DateFormat::Dmy, DateFormat::Mdy];

    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Ymd => "ymd",
            DateFormat::Dmy => "dmy",
            DateFormat::Mdy => "mdy",
        }
    }

    pub fn parse(name: &str) -> Option<DateFormat> {
        DateFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The chrono pattern of a date.
    pub fn date_pattern(self) -> &'static str {
        match self {
            DateFormat::Ymd => "%Y-%m-%d",
            DateFormat::Dmy => "%d/%m/%Y",
            DateFormat::Mdy => "%m/%d/%Y",
        }
    }

    /// The chrono pattern of a date and time to the second (history rows).
    pub fn date_time_pattern(self) -> &'static str {
        match self {
            DateFormat::Ymd => "%Y-%m-%d %H:%M:%S",
            DateFormat::Dmy => "%d/%m/%Y %H:%M:%S",
            DateFormat::Mdy => "%m/%d/%Y %H:%M:%S",
        }
    }

    /// The chrono pattern of a date and time to the minute.
    pub fn date_minute_pattern(self) -> &'static str {
        match self {
            DateFormat::Ymd => "%Y-%m-%d %H:%M",
            DateFormat::Dmy => "%d/%m/%Y %H:%M",
            DateFormat::Mdy => "%m/%d/%Y %H:%M",
        }
    }

    /// Excel's number format for the same (the export's Date column).
    pub fn excel_pattern(self) -> &'static str {
        match self {
            DateFormat::Ymd => "yyyy-mm-dd hh:mm:ss",
            DateFormat::Dmy => "dd/mm/yyyy hh:mm:ss",
            DateFormat::Mdy => "mm/dd/yyyy hh:mm:ss",
        }
    }

    /// An example, as the Settings choice shows it.
    pub fn label(self) -> &'static str {
        match self {
            DateFormat::Ymd => "2026-11-25 (year-month-day)",
            DateFormat::Dmy => "25/11/2026 (day/month/year)",
            DateFormat::Mdy => "11/25/2026 (month/day/year)",
        }
    }

    /// `at` as a date.
    pub fn date<Tz: TimeZone>(self, at: &DateTime<Tz>) -> String
    where
        Tz::Offset: std::fmt::Display,
    {
        at.format(self.date_pattern()).to_string()
    }
}

/// The display preferences as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencesForm {
    pub language: String,
    pub time_zone: String,
    pub date_format: String,
}

/// Checked display preferences.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub language: Language,
    /// An IANA name, e.g. `Asia/Ho_Chi_Minh`.
    pub time_zone: String,
    pub date_format: DateFormat,
}

impl PreferencesForm {
    /// Checks each field against the lists offered (`zones`: the IANA names); every
    /// problem is reported beside its field.
    pub fn validate(&self, zones: &[&str]) -> Result<Preferences, Vec<FieldError>> {
        let mut errors = Vec::new();
        let language = Language::parse(self.language.trim());
        if language.is_none() {
            errors.push(FieldError {
                field: "language".into(),
                message: "Choose English, Tiếng Việt or 日本語.".into(),
            });
        }
        let time_zone = self.time_zone.trim();
        if !zones.contains(&time_zone) {
            errors.push(FieldError {
                field: "time_zone".into(),
                message: "Choose a time zone from the list, such as Asia/Ho_Chi_Minh.".into(),
            });
        }
        let date_format = DateFormat::parse(self.date_format.trim());
        if date_format.is_none() {
            errors.push(FieldError {
                field: "date_format".into(),
                message: "Choose a date format.".into(),
            });
        }
        match (language, date_format, errors.is_empty()) {
            (Some(language), Some(date_format), true) => Ok(Preferences {
                language,
                time_zone: time_zone.to_owned(),
                date_format,
            }),
            _ => Err(errors),
        }
    }
}

/// What the Settings tab shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsPage {
    /// The billing form as saved (empty before the first top-up's settings).
    pub billing: Option<BillingForm>,
    /// The account's currency, fixed once the account is opened.
    pub currency: Option<Currency>,
    pub preferences: PreferencesForm,
    /// Every IANA time zone, for the choice.
    pub time_zones: Vec<String>,
    /// The zone the billing country suggests, when it has one.
    pub suggested_time_zone: Option<String>,
    /// The latest changes, newest first: when, who, what.
    pub changes: Vec<SettingsChangeRow>,
}

/// One recorded change of a setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsChangeRow {
    pub when: String,
    pub who: String,
    pub field: String,
    pub from: String,
    pub to: String,
}

/// The IANA zone a country's customers most likely read dates in; `None` where a
/// country spans several (the user picks).
pub fn time_zone_for_country(country: &str) -> Option<&'static str> {
    match country {
        "VN" => Some("Asia/Ho_Chi_Minh"),
        "JP" => Some("Asia/Tokyo"),
        "SG" => Some("Asia/Singapore"),
        "TH" => Some("Asia/Bangkok"),
        "KR" => Some("Asia/Seoul"),
        "GB" => Some("Europe/London"),
        "DE" => Some("Europe/Berlin"),
        "FR" => Some("Europe/Paris"),
        "NL" => Some("Europe/Amsterdam"),
        "IT" => Some("Europe/Rome"),
        "ES" => Some("Europe/Madrid"),
        "IE" => Some("Europe/Dublin"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn preferences_are_checked_against_the_lists() {
        let zones = ["UTC", "Asia/Tokyo"];
        let ok = PreferencesForm {
            language: "ja".into(),
            time_zone: "Asia/Tokyo".into(),
            date_format: "dmy".into(),
        };
        assert_eq!(
            ok.validate(&zones),
            Ok(Preferences {
                language: Language::Ja,
                time_zone: "Asia/Tokyo".into(),
                date_format: DateFormat::Dmy,
            })
        );
        let bad = PreferencesForm {
            language: "fr".into(),
            time_zone: "Mars/Olympus".into(),
            date_format: "julian".into(),
        };
        let fields: Vec<String> = bad
            .validate(&zones)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["language", "time_zone", "date_format"]);
    }

    #[test]
    fn each_date_format_reads_as_its_label_says() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 25, 14, 5, 9)
            .single()
            .unwrap_or_default();
        let shown: Vec<String> = DateFormat::ALL.iter().map(|f| f.date(&at)).collect();
        assert_eq!(shown, ["2026-11-25", "25/11/2026", "11/25/2026"]);
        for format in DateFormat::ALL {
            assert!(format.label().starts_with(&format.date(&at)));
        }
    }
}
