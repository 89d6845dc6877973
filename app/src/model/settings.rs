//! The Settings tab: billing details (the billing form), and display preferences —
//! language, time zone, date format — checked the same way in the browser and on the
//! server.

use super::billing::{BillingForm, FieldError};
use super::money::Currency;
use super::problem::Problem;
use chrono::{DateTime, TimeZone};
use serde::{Deserialize, Serialize};

/// The cookie the language switcher sets (for visitors who are not signed in).
pub const LANGUAGE_COOKIE: &str = "lang";

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

    /// How this language's readers separate thousands in a count: `10,000` in English
    /// and Japanese, `10.000` in Vietnamese. (Amounts follow their currency instead.)
    pub fn thousands(self) -> char {
        match self {
            Language::En | Language::Ja => ',',
            Language::Vi => '.',
        }
    }

    /// The translations' locale for this language.
    pub fn locale(self) -> crate::i18n::Locale {
        use crate::i18n::Locale;
        match self {
            Language::En => Locale::en,
            Language::Vi => Locale::vi,
            Language::Ja => Locale::ja,
        }
    }

    /// The language a page is written in: the signed-in user's saved preference; else
    /// the switcher's cookie; else the first language of the browser's
    /// `Accept-Language` we write (by quality, then order; `vi-VN` is `vi`); else
    /// English.
    pub fn choose(
        saved: Option<Language>,
        cookie: Option<&str>,
        accept_language: Option<&str>,
    ) -> Language {
        saved
            .or_else(|| cookie.and_then(Language::parse))
            .or_else(|| accept_language.and_then(Language::from_accept_language))
            .unwrap_or(Language::En)
    }

    fn from_accept_language(header: &str) -> Option<Language> {
        use crate::i18n::{I18nLocaleTrait, Locale};
        let mut ranges: Vec<(u16, &str)> = header
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let tag = parts.next().filter(|t| !t.is_empty() && *t != "*")?;
                // q=0 means "not this one"; quality is kept in thousandths (no floats).
                let quality = parts
                    .find_map(|p| p.strip_prefix("q="))
                    .map_or(Some(1000), quality_thousandths)?;
                (quality > 0).then_some((quality, tag))
            })
            .collect();
        // Stable: equal qualities keep the browser's order.
        ranges.sort_by_key(|r| std::cmp::Reverse(r.0));
        ranges.into_iter().find_map(|(_, tag)| {
            // The library's matcher knows that `ja-JP` is Japanese; it answers with the
            // default for a tag it cannot place, so only a real match counts.
            let found = Locale::find_locale(&[tag]);
            let primary = tag.split(['-', '_']).next().unwrap_or(tag);
            (found.as_str().eq_ignore_ascii_case(primary))
                .then(|| Language::parse(found.as_str()))?
        })
    }
}

/// `1`, `0.8`, `0.25` as thousandths; `None` for anything else.
fn quality_thousandths(q: &str) -> Option<u16> {
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = whole.parse().ok().filter(|w| *w <= 1)?;
    let fraction: u16 = format!("{fraction:0<3}").parse().ok()?;
    let quality = whole * 1000 + fraction;
    (quality <= 1000).then_some(quality)
}

impl From<crate::i18n::Locale> for Language {
    fn from(locale: crate::i18n::Locale) -> Language {
        use crate::i18n::Locale;
        match locale {
            Locale::en => Language::En,
            Locale::vi => Language::Vi,
            Locale::ja => Language::Ja,
        }
    }
}

/// How dates read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateFormat {
    /// As the page's language writes dates (the default): see [`DateFormat::in_language`].
    Auto,
    /// 2026-11-25
    Ymd,
    /// 2026/11/25 (as Japanese writes dates)
    Slashed,
    /// 25/11/2026
    Dmy,
    /// 11/25/2026
    Mdy,
}

impl DateFormat {
    pub const ALL: [DateFormat; 5] = [
        DateFormat::Auto,
        DateFormat::Ymd,
        DateFormat::Slashed,
        DateFormat::Dmy,
        DateFormat::Mdy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DateFormat::Auto => "auto",
            DateFormat::Ymd => "ymd",
            DateFormat::Slashed => "ymd-slashed",
            DateFormat::Dmy => "dmy",
            DateFormat::Mdy => "mdy",
        }
    }

    pub fn parse(name: &str) -> Option<DateFormat> {
        DateFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// What `Auto` means in `language`: the way its readers write dates (25/11/2026 in
    /// Vietnamese, 2026/11/25 in Japanese, 2026-11-25 in our international English).
    /// A chosen format stays as chosen.
    pub fn in_language(self, language: Language) -> DateFormat {
        match (self, language) {
            (DateFormat::Auto, Language::En) => DateFormat::Ymd,
            (DateFormat::Auto, Language::Vi) => DateFormat::Dmy,
            (DateFormat::Auto, Language::Ja) => DateFormat::Slashed,
            (chosen, _) => chosen,
        }
    }

    /// The chrono pattern of a date.
    pub fn date_pattern(self) -> &'static str {
        match self {
            DateFormat::Auto | DateFormat::Ymd => "%Y-%m-%d",
            DateFormat::Slashed => "%Y/%m/%d",
            DateFormat::Dmy => "%d/%m/%Y",
            DateFormat::Mdy => "%m/%d/%Y",
        }
    }

    /// The chrono pattern of a date and time to the second (history rows).
    pub fn date_time_pattern(self) -> &'static str {
        match self {
            DateFormat::Auto | DateFormat::Ymd => "%Y-%m-%d %H:%M:%S",
            DateFormat::Slashed => "%Y/%m/%d %H:%M:%S",
            DateFormat::Dmy => "%d/%m/%Y %H:%M:%S",
            DateFormat::Mdy => "%m/%d/%Y %H:%M:%S",
        }
    }

    /// The chrono pattern of a date and time to the minute.
    pub fn date_minute_pattern(self) -> &'static str {
        match self {
            DateFormat::Auto | DateFormat::Ymd => "%Y-%m-%d %H:%M",
            DateFormat::Slashed => "%Y/%m/%d %H:%M",
            DateFormat::Dmy => "%d/%m/%Y %H:%M",
            DateFormat::Mdy => "%m/%d/%Y %H:%M",
        }
    }

    /// Excel's number format for the same (the export's Date column).
    pub fn excel_pattern(self) -> &'static str {
        match self {
            DateFormat::Auto | DateFormat::Ymd => "yyyy-mm-dd hh:mm:ss",
            DateFormat::Slashed => "yyyy/mm/dd hh:mm:ss",
            DateFormat::Dmy => "dd/mm/yyyy hh:mm:ss",
            DateFormat::Mdy => "mm/dd/yyyy hh:mm:ss",
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
            errors.push(FieldError::new("language", Problem::ChooseLanguage));
        }
        let time_zone = self.time_zone.trim();
        if !zones.contains(&time_zone) {
            errors.push(FieldError::new("time_zone", Problem::ChooseTimeZone));
        }
        let date_format = DateFormat::parse(self.date_format.trim());
        if date_format.is_none() {
            errors.push(FieldError::new("date_format", Problem::ChooseDateFormat));
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
    /// Every country as (code, name), named and sorted in the reader's language.
    pub countries: Vec<(String, String)>,
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
        assert_eq!(
            shown,
            [
                "2026-11-25",
                "2026-11-25",
                "2026/11/25",
                "25/11/2026",
                "11/25/2026"
            ]
        );
        let minute = |language| {
            at.format(DateFormat::Auto.in_language(language).date_minute_pattern())
                .to_string()
        };
        assert_eq!(minute(Language::Vi), "25/11/2026 14:05");
        assert_eq!(minute(Language::Ja), "2026/11/25 14:05");
        assert_eq!(minute(Language::En), "2026-11-25 14:05");
        // A chosen format is kept whatever the language.
        assert_eq!(DateFormat::Mdy.in_language(Language::Ja), DateFormat::Mdy);
    }

    #[test]
    fn the_language_is_the_saved_one_then_the_cookie_then_the_browser_then_english() {
        use Language::*;
        assert_eq!(Language::choose(Some(Ja), Some("vi"), Some("en")), Ja);
        assert_eq!(Language::choose(None, Some("vi"), Some("ja")), Vi);
        assert_eq!(
            Language::choose(None, Some("klingon"), Some("ja-JP,en;q=0.5")),
            Ja
        );
        assert_eq!(
            Language::choose(None, None, Some("fr-FR,fr;q=0.9,vi;q=0.8,en;q=0.7")),
            Vi
        );
        assert_eq!(Language::choose(None, None, Some("en;q=0.5, ja;q=0.9")), Ja);
        assert_eq!(Language::choose(None, None, Some("vi;q=0, en")), En);
        assert_eq!(Language::choose(None, None, Some("de, fr")), En);
        assert_eq!(Language::choose(None, None, Some("zz;q=bad, ja")), Ja);
        assert_eq!(Language::choose(None, None, None), En);
    }
}
