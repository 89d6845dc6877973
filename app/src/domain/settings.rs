//! A user's settings beyond billing details: display preferences (language, time zone,
//! date format), how they make dates read ([`LocalTime`]), and the log of every change
//! to settings (who, when, what, from what).

use super::audit::{self, Actor, Entry};
use super::db::Db;
use super::entities::{settings_change, user};
use crate::i18n::*;
use crate::model::billing::{BillingForm, BillingProfile, BillingType};
use crate::model::settings::{DateFormat, Language, Preferences, SettingsChangeRow};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// How one user reads dates: their time zone and date format, and the language of the
/// words around them (the export's headings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub tz: Tz,
    pub format: DateFormat,
    pub language: Language,
}

impl LocalTime {
    /// The user's saved preferences (UTC when unknown); the date format `Auto` as
    /// their language writes dates, the language their pages are in.
    pub fn of(user: &user::Model) -> LocalTime {
        let language = Language::parse(&user.language).unwrap_or(Language::En);
        LocalTime {
            tz: user.time_zone.parse().unwrap_or(Tz::UTC),
            format: DateFormat::parse(&user.date_format)
                .unwrap_or(DateFormat::Auto)
                .in_language(language),
            language,
        }
    }

    /// UTC, year-month-day: for tests and operators' tools.
    pub const UTC: LocalTime = LocalTime {
        tz: Tz::UTC,
        format: DateFormat::Ymd,
        language: Language::En,
    };

    /// A date and time to the second (history rows).
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .format(self.format.date_time_pattern())
            .to_string()
    }

    /// A date and time to the minute.
    pub fn date_minute(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .format(self.format.date_minute_pattern())
            .to_string()
    }

    /// A date.
    pub fn date(&self, at: DateTime<Utc>) -> String {
        self.format.date(&at.with_timezone(&self.tz))
    }
}

impl From<Tz> for LocalTime {
    /// A time zone with the default date format (year-month-day).
    fn from(tz: Tz) -> LocalTime {
        LocalTime {
            tz,
            format: DateFormat::Ymd,
            language: Language::En,
        }
    }
}

/// Every IANA time zone name, as the Settings choice lists them.
pub fn time_zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

/// A setting the change log records. The log stores its English name (`stored`), which
/// the console and the audit log show as is; customers read it in their language
/// (`words`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Language,
    TimeZone,
    DateFormat,
    BillingType,
    Name,
    BillingEmail,
    Address,
    Country,
    TaxCode,
}

impl Setting {
    const ALL: [Setting; 9] = [
        Setting::Language,
        Setting::TimeZone,
        Setting::DateFormat,
        Setting::BillingType,
        Setting::Name,
        Setting::BillingEmail,
        Setting::Address,
        Setting::Country,
        Setting::TaxCode,
    ];

    /// The name the log stores.
    pub fn stored(self) -> &'static str {
        match self {
            Setting::Language => "Language",
            Setting::TimeZone => "Time zone",
            Setting::DateFormat => "Date format",
            Setting::BillingType => "Billing type",
            Setting::Name => "Name",
            Setting::BillingEmail => "Billing email",
            Setting::Address => "Address",
            Setting::Country => "Country",
            Setting::TaxCode => "Tax code",
        }
    }

    fn parse(stored: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.stored() == stored)
    }

    fn words(self, locale: Locale) -> &'static str {
        match self {
            Setting::Language => td_string!(locale, settings.language),
            Setting::TimeZone => td_string!(locale, settings.time_zone),
            Setting::DateFormat => td_string!(locale, settings.date_format),
            Setting::BillingType => td_string!(locale, billing_form.kind),
            Setting::Name => td_string!(locale, settings.name),
            Setting::BillingEmail => td_string!(locale, billing_form.email),
            Setting::Address => td_string!(locale, billing_form.address),
            Setting::Country => td_string!(locale, billing_form.country),
            Setting::TaxCode => td_string!(locale, billing_form.tax_code),
        }
    }
}

/// A user's stored language before they have one: the pages follow the switcher's
/// cookie and the browser until their first sign-in.
pub const NOT_CHOSEN: &str = "auto";

/// Keeps the language a user first signed in with as their preference, when they have
/// none yet, so their pages stay in it on every device. Not logged as a change: the
/// user changed nothing, they only kept reading in the language they were shown.
pub async fn adopt_language<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    language: Language,
) -> Result<(), DbErr> {
    if Language::parse(&user.language).is_some() {
        return Ok(());
    }
    user::Entity::update_many()
        .col_expr(
            user::Column::Language,
            sea_orm::sea_query::Expr::value(language.as_str()),
        )
        .filter(user::Column::Id.eq(user.id))
        .filter(user::Column::Language.eq(NOT_CHOSEN))
        .exec(conn)
        .await?;
    Ok(())
}

/// Saves the language a user chose with the switcher, keeping their other preferences.
pub async fn save_language(
    db: &Db,
    user: &user::Model,
    language: Language,
    at: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let preferences = Preferences {
        language,
        time_zone: user.time_zone.clone(),
        date_format: DateFormat::parse(&user.date_format).unwrap_or(DateFormat::Auto),
    };
    save_preferences(db, user.id, user.id, &preferences, at).await
}

/// Saves a user's display preferences and records what changed. Returns how many
/// fields changed.
pub async fn save_preferences(
    db: &Db,
    user_id: i64,
    changed_by: i64,
    preferences: &Preferences,
    at: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let txn = db.write().await?;
    let Some(old) = user::Entity::find_by_id(user_id).one(&*txn).await? else {
        return Err(DbErr::RecordNotFound(format!("user {user_id}")));
    };
    let changes = [
        (
            Setting::Language,
            old.language.clone(),
            preferences.language.as_str(),
        ),
        (
            Setting::TimeZone,
            old.time_zone.clone(),
            &preferences.time_zone,
        ),
        (
            Setting::DateFormat,
            old.date_format.clone(),
            preferences.date_format.as_str(),
        ),
    ];
    let mut row: user::ActiveModel = old.into();
    row.language = Set(preferences.language.as_str().to_owned());
    row.time_zone = Set(preferences.time_zone.clone());
    row.date_format = Set(preferences.date_format.as_str().to_owned());
    row.update(&*txn).await?;
    let changed = record(
        &txn,
        user_id,
        changed_by,
        changes
            .iter()
            .map(|(field, from, to)| (*field, from.as_str(), *to)),
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(changed)
}

/// Reads one field of billing details as text.
type Pick = fn(&BillingProfile) -> String;

/// The billing details' fields that changed, before and after a save.
pub fn billing_changes<'a>(
    before: Option<&'a BillingProfile>,
    after: &'a BillingProfile,
) -> Vec<(Setting, String, String)> {
    let field = |p: Option<&BillingProfile>, pick: Pick| p.map(pick).unwrap_or_default();
    let fields: [(Setting, Pick); 6] = [
        (Setting::BillingType, |p| p.billing_type.as_str().to_owned()),
        (Setting::Name, |p| p.name.clone()),
        (Setting::BillingEmail, |p| p.email.clone()),
        (Setting::Address, |p| p.address.clone()),
        (Setting::Country, |p| p.country.clone()),
        (Setting::TaxCode, |p| p.tax_code.clone().unwrap_or_default()),
    ];
    fields
        .into_iter()
        .map(|(name, pick)| (name, field(before, pick), pick(after)))
        .filter(|(_, from, to)| from != to)
        .collect()
}

/// Records each field whose value changed (unchanged ones are skipped), and one audit
/// log entry for them all. Returns how many were recorded.
pub async fn record<'a>(
    txn: &DatabaseTransaction,
    user_id: i64,
    changed_by: i64,
    changes: impl Iterator<Item = (Setting, &'a str, &'a str)>,
    at: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (setting, from, to) in changes {
        if from == to {
            continue;
        }
        let field = setting.stored();
        settings_change::ActiveModel {
            user_id: Set(user_id),
            changed_by: Set(changed_by),
            field: Set(field.to_owned()),
            old_value: Set(from.to_owned()),
            new_value: Set(to.to_owned()),
            created_at: Set(at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        before.insert(field.to_owned(), from.into());
        after.insert(field.to_owned(), to.into());
    }
    if after.is_empty() {
        return Ok(0);
    }
    let actor = user::Entity::find_by_id(changed_by)
        .one(txn)
        .await?
        .map_or(Actor::System, |u| Actor::user(&u));
    let account = super::account::of_user(txn, user_id).await?;
    audit::append(
        txn,
        &Entry {
            actor: &actor,
            action: "settings.changed",
            account_id: account.as_ref().map(|a| a.id.as_str()),
            subject: format!("user:{user_id}"),
            before: before.into(),
            after: after.clone().into(),
            reason: "",
        },
        at,
    )
    .await?;
    Ok(after.len())
}

/// The latest changes to a user's settings, newest first, with who made them.
pub async fn changes<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    dates: LocalTime,
    limit: u64,
) -> Result<Vec<SettingsChangeRow>, DbErr> {
    let rows = settings_change::Entity::find()
        .filter(settings_change::Column::UserId.eq(user_id))
        .order_by_desc(settings_change::Column::CreatedAt)
        .order_by_desc(settings_change::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let locale = dates.language.locale();
        let who = if row.changed_by == user_id {
            td_string!(locale, settings.you).to_owned()
        } else {
            user::Entity::find_by_id(row.changed_by)
                .one(conn)
                .await?
                .map_or_else(
                    || td_string!(locale, settings.an_operator).to_owned(),
                    |u| u.email,
                )
        };
        out.push(SettingsChangeRow {
            when: dates.date_minute(row.created_at),
            who,
            field: field_words(&row.field, locale).to_owned(),
            from: value_words(&row.field, &row.old_value, locale),
            to: value_words(&row.field, &row.new_value, locale),
        });
    }
    Ok(out)
}

/// A logged setting's name in the reader's language; a name the log holds that is not
/// one of ours is shown as stored.
fn field_words(field: &str, locale: Locale) -> &str {
    Setting::parse(field).map_or(field, |setting| setting.words(locale))
}

/// A logged value in the reader's language where it is one of ours (a language, a date
/// format, a billing type); names, addresses and zones as typed.
fn value_words(field: &str, value: &str, locale: Locale) -> String {
    use crate::ui::messages;
    let worded = match Setting::parse(field) {
        Some(Setting::Language) if value == NOT_CHOSEN => {
            Some(td_string!(locale, settings.not_chosen))
        }
        Some(Setting::Language) => Language::parse(value).map(Language::label),
        Some(Setting::DateFormat) => {
            DateFormat::parse(value).map(|d| messages::date_format(locale, d))
        }
        Some(Setting::BillingType) => {
            BillingType::parse(value).map(|b| messages::billing_type(locale, b))
        }
        _ => None,
    };
    worded.unwrap_or(value).to_owned()
}

/// The billing form as saved, for the Settings tab to edit.
pub fn billing_form(profile: &BillingProfile) -> BillingForm {
    BillingForm {
        billing_type: profile.billing_type.as_str().to_owned(),
        name: profile.name.clone(),
        email: profile.email.clone(),
        address: profile.address.clone(),
        country: profile.country.clone(),
        currency: profile.currency.code().to_owned(),
        tax_code: profile.tax_code.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Setting, field_words};
    use crate::i18n::Locale;

    #[test]
    fn every_setting_reads_back_from_its_stored_name_and_is_worded() {
        for setting in Setting::ALL {
            assert_eq!(Setting::parse(setting.stored()), Some(setting));
            assert_eq!(
                field_words(setting.stored(), Locale::en),
                setting.words(Locale::en)
            );
            assert_ne!(field_words(setting.stored(), Locale::vi), setting.stored());
        }
        assert_eq!(field_words("Something else", Locale::ja), "Something else");
    }
}
