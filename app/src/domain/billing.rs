//! Billing settings. The first save opens the customer's account in the chosen currency;
//! later saves update the details but never the currency (refused, nothing changed).

use super::db::{Db, now};
use super::entities::{account as account_row, billing_profile, user};
use super::{account, country_names, ledger, settings};
use crate::model::billing::{BillingProfile, BillingType};
use crate::model::money::Currency;
use crate::model::settings::{Language, time_zone_for_country};
use crate::model::top_up::currencies_for;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, EntityTrait, SqlErr};

/// Why billing settings were not saved.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("Your account's currency is {0}; it cannot be changed.")]
    CurrencyLocked(Currency),
    #[error("Your account holds {0}, which is not used for billing in that country.")]
    CountryForCurrency(Currency),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Saves a user's billing settings; returns their account (opened now if new).
///
/// Two first saves at once (two tabs) both find no account; one opens it and the
/// other's insert meets the unique user id. That one starts over, now finding the
/// account: its settings are saved as an update, or refused if they name another
/// currency. Never two accounts, never a server error.
pub async fn save(
    db: &Db,
    user_id: i64,
    profile: &BillingProfile,
) -> Result<account_row::Model, BillingError> {
    match save_once(db, user_id, profile).await {
        Err(BillingError::Db(e))
            if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
        {
            save_once(db, user_id, profile).await
        }
        other => other,
    }
}

async fn save_once(
    db: &Db,
    user_id: i64,
    profile: &BillingProfile,
) -> Result<account_row::Model, BillingError> {
    let at = now();
    let txn = db.write().await?;
    let acct = match account::of_user(&*txn, user_id).await? {
        Some(existing) => {
            // Lock first: a concurrent first save and this one must not both pass.
            ledger::lock_account(&txn, &existing.id).await?;
            let held = account::currency(&existing)?;
            if held != profile.currency {
                return Err(BillingError::CurrencyLocked(held));
            }
            if !currencies_for(&profile.country).contains(&held) {
                return Err(BillingError::CountryForCurrency(held));
            }
            existing
        }
        None => account::open(&*txn, user_id, profile.currency, Some(&profile.country), at).await?,
    };
    let row = billing_profile::ActiveModel {
        account_id: Set(acct.id.clone()),
        billing_type: Set(profile.billing_type.as_str().to_owned()),
        name: Set(profile.name.clone()),
        email: Set(profile.email.clone()),
        address: Set(profile.address.clone()),
        country: Set(profile.country.clone()),
        tax_code: Set(profile.tax_code.clone()),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let old = billing_profile::Entity::find_by_id(acct.id.clone())
        .one(&*txn)
        .await?;
    let before = old.as_ref().map(|o| to_profile(o, profile.currency));
    match old {
        Some(old) => {
            let mut update = row;
            update.created_at = Set(old.created_at);
            update.update(&*txn).await?;
        }
        None => {
            row.insert(&*txn).await?;
        }
    }
    // A first billing country sets the time zone of a user still on the default (UTC)
    // to that country's, when it has one zone; logged like any change.
    if before.is_none()
        && let Some(zone) = time_zone_for_country(&profile.country)
        && let Some(user) = user::Entity::find_by_id(user_id).one(&*txn).await?
        && user.time_zone == "UTC"
    {
        let mut row: user::ActiveModel = user.into();
        row.time_zone = Set(zone.to_owned());
        row.update(&*txn).await?;
        settings::record(
            &txn,
            user_id,
            user_id,
            [(settings::Setting::TimeZone, "UTC", zone)].into_iter(),
            at,
        )
        .await?;
    }
    // Each changed field is logged with the save, in its transaction.
    let changed = settings::billing_changes(before.as_ref(), profile);
    settings::record(
        &txn,
        user_id,
        user_id,
        changed
            .iter()
            .map(|(field, from, to)| (*field, from.as_str(), to.as_str())),
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(acct)
}

/// An account's saved billing settings.
pub async fn profile(
    db: &Db,
    account: &account_row::Model,
) -> Result<Option<BillingProfile>, DbErr> {
    let Some(row) = billing_profile::Entity::find_by_id(account.id.clone())
        .one(db.conn())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(to_profile(&row, account::currency(account)?)))
}

fn to_profile(row: &billing_profile::Model, currency: Currency) -> BillingProfile {
    BillingProfile {
        billing_type: BillingType::parse(&row.billing_type).unwrap_or(BillingType::Personal),
        name: row.name.clone(),
        email: row.email.clone(),
        address: row.address.clone(),
        country: row.country.clone(),
        currency,
        tax_code: row.tax_code.clone(),
    }
}

/// Every country a billing form offers, as (alpha-2 code, name): named in `language`
/// (CLDR's names: "Việt Nam", 「日本」) and sorted as that language sorts. The names
/// come from the server so they stay out of the browser's bundle; the lists are baked
/// from CLDR by `scripts/country-names.mjs` (see `country_names`).
pub fn countries(language: Language) -> Vec<(String, String)> {
    let table = match language {
        Language::En => country_names::EN,
        Language::Vi => country_names::VI,
        Language::Ja => country_names::JA,
    };
    table
        .iter()
        .map(|&(code, name)| (code.to_owned(), name.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::countries;
    use crate::model::settings::Language;
    use isocountry::CountryCode;
    use std::collections::BTreeSet;

    fn position(list: &[(String, String)], code: &str) -> usize {
        list.iter()
            .position(|(c, _)| c == code)
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn every_country_the_forms_accept_is_named_once_in_each_language() {
        let accepted: BTreeSet<&str> = CountryCode::iter().map(|c| c.alpha2()).collect();
        for language in [Language::En, Language::Vi, Language::Ja] {
            let list = countries(language);
            let named: BTreeSet<&str> = list.iter().map(|(code, _)| code.as_str()).collect();
            assert_eq!(named, accepted, "{language:?}");
            assert_eq!(
                list.len(),
                accepted.len(),
                "{language:?} names a country twice"
            );
            assert!(list.iter().all(|(_, name)| !name.trim().is_empty()));
        }
    }

    #[test]
    fn countries_are_named_and_sorted_in_the_readers_language() {
        let en = countries(Language::En);
        let vi = countries(Language::Vi);
        let ja = countries(Language::Ja);
        assert!(en.len() >= 240 && en.len() == vi.len() && vi.len() == ja.len());
        let name = |list: &[(String, String)], code: &str| {
            list.iter().find(|(c, _)| c == code).map(|(_, n)| n.clone())
        };
        assert_eq!(name(&en, "VN").as_deref(), Some("Vietnam"));
        assert_eq!(name(&vi, "VN").as_deref(), Some("Việt Nam"));
        assert_eq!(name(&ja, "JP").as_deref(), Some("日本"));
        // Sorted as a reader looks for them: Åland Islands among the A's, before
        // Albania, where byte order would put it after Zimbabwe.
        assert_eq!(name(&en, "AX").as_deref(), Some("Åland Islands"));
        assert!(position(&en, "AX") < position(&en, "AL"));
        // Vietnamese sorts by letter, not by code point: Áo (Austria) comes before
        // Bỉ (Belgium), though "Á" is after "B" in Unicode.
        assert_eq!(name(&vi, "AT").as_deref(), Some("Áo"));
        assert!(position(&vi, "AT") < position(&vi, "BE"));
    }
}
