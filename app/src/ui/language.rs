//! The language switcher (header and sign-in page), and how the server tells the
//! translations which language it chose for this request.

use crate::api::ChooseLanguage;
use crate::i18n::*;
use crate::model::settings::Language;
use leptos::prelude::*;
use leptos_i18n::context::UseLocalesOptions;

/// The language the server's `language` layer chose for this request (saved preference,
/// cookie, `Accept-Language`), handed to the translations as if it were the browser's
/// only language. In the browser the library reads `<html lang>` instead, so both
/// render the same text.
pub fn decided() -> UseLocalesOptions {
    #[cfg(feature = "ssr")]
    {
        let chosen = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Language>().copied())
            .unwrap_or(Language::En);
        UseLocalesOptions::default().ssr_lang_header_getter(move || Some(chosen.as_str().to_owned()))
    }
    #[cfg(not(feature = "ssr"))]
    UseLocalesOptions::default()
}

/// A choice of language, each written in itself. Choosing one saves it (a cookie, and
/// the preference when signed in) and reloads the page in it.
#[component]
pub fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let current = Language::from(i18n.get_locale_untracked());
    let choose = ServerAction::<ChooseLanguage>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = choose.value().get() {
            super::browser::reload();
        }
    });
    view! {
        <div class="language-switcher">
            <label for="language-switcher" class="visually-hidden">{t_string!(i18n, language.label)}</label>
            <select
                id="language-switcher"
                on:change=move |ev| {
                    choose.dispatch(ChooseLanguage { language: event_target_value(&ev) });
                }
            >
                {Language::ALL
                    .into_iter()
                    .map(|l| {
                        view! {
                            <option value=l.as_str() lang=l.as_str() selected=l == current>
                                {l.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}
