//! The Settings tab: what it shows, and saving display preferences. Billing details
//! are saved by `save_billing_settings` (shared with Add credit), which records its
//! changes the same way.

use crate::model::error::AppError;
use crate::model::settings::{PreferencesForm, SettingsPage};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;

/// The signed-in customer's billing details, preferences, and recent changes.
#[server(prefix = "/rpc", endpoint = "settings")]
pub async fn get_settings() -> Result<SettingsPage, AppError> {
    use crate::domain::{billing, settings};
    use crate::model::settings::time_zone_for_country;
    let call = server::Call::begin().await?;
    let user = call.require_customer().await?;
    let account = call.account_of(&user).await?;
    let profile = match &account {
        Some((acct, _)) => billing::profile(&call.db, acct)
            .await
            .map_err(server::internal)?,
        None => None,
    };
    let dates = settings::LocalTime::of(&user);
    Ok(SettingsPage {
        suggested_time_zone: profile
            .as_ref()
            .and_then(|p| time_zone_for_country(&p.country))
            .map(str::to_owned),
        billing: profile.as_ref().map(settings::billing_form),
        currency: account.map(|(_, currency)| currency),
        preferences: PreferencesForm {
            language: user.language.clone(),
            time_zone: user.time_zone.clone(),
            date_format: user.date_format.clone(),
        },
        time_zones: settings::time_zones()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        changes: settings::changes(call.db.conn(), user.id, dates, 20)
            .await
            .map_err(server::internal)?,
        countries: billing::countries(call.language),
    })
}

/// Saves the display preferences; they apply at once (dates in history and exports).
#[server(prefix = "/rpc", endpoint = "save_preferences")]
pub async fn save_preferences(form: PreferencesForm) -> Result<(), AppError> {
    use crate::domain::settings;
    let call = server::Call::begin().await?;
    let user = call.require_customer().await?;
    let preferences = form
        .validate(&settings::time_zones())
        .map_err(AppError::Fields)?;
    settings::save_preferences(
        &call.db,
        user.id,
        user.id,
        &preferences,
        crate::domain::db::now(),
    )
    .await
    .map_err(server::internal)?;
    Ok(())
}

/// The language switcher (header, sign-in page): remembers the choice in a cookie for a
/// year and, when someone is signed in, saves it as their preference (logged as a
/// settings change). The page reloads to show it.
#[server(prefix = "/rpc", endpoint = "choose_language")]
pub async fn choose_language(language: String) -> Result<(), AppError> {
    use crate::domain::settings;
    use crate::model::settings::{LANGUAGE_COOKIE, Language};
    let call = server::Call::begin().await?;
    let Some(language) = Language::parse(&language) else {
        return Err(AppError::Invalid {
            field: "language".into(),
            problem: crate::model::problem::Problem::ChooseLanguage,
        });
    };
    if let Some(user) = call.user().await? {
        settings::save_language(&call.db, &user, language, crate::domain::db::now())
            .await
            .map_err(server::internal)?;
    }
    call.set_cookie(&format!(
        "{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        language.as_str()
    ));
    Ok(())
}
