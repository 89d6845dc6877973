//! The page's language: decided by the server for each request (`Language::choose`,
//! applied by the server's `language` layer), written into `<html lang>`, and read back
//! from there by the browser, so hydration renders the same words. Pages get it with
//! [`use_locale`] and translate with `td_string!(locale, key)`; nothing re-renders on a
//! change: the switcher reloads the page.
//!
//! Also the language switcher (header and sign-in page).

use crate::api::ChooseLanguage;
use crate::i18n::*;
use crate::model::settings::Language;
use leptos::prelude::*;

/// The page's language, for the components drawn after it is known. Read once per
/// component, not tracked: a new language (or a sign-in) loads the page again.
#[derive(Clone, Copy)]
struct PageLanguage(Locale);

/// The language the server chose for this request (English outside a request).
#[cfg(feature = "ssr")]
pub fn of_request() -> Language {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Language>().copied())
        .unwrap_or(Language::En)
}

/// In the browser: the language the server wrote into `<html lang>`.
#[cfg(not(feature = "ssr"))]
pub fn of_request() -> Language {
    document()
        .document_element()
        .and_then(|html| html.get_attribute("lang"))
        .and_then(|lang| Language::parse(&lang))
        .unwrap_or(Language::En)
}

/// Provides the page's language to everything under the app.
pub fn provide() {
    provide_context(PageLanguage(of_request().locale()));
}

/// The page's language, as the translations' locale. In the browser, islands have no
/// context from the server's page tree: there the page's `lang` says it.
pub fn use_locale() -> Locale {
    use_context::<PageLanguage>().map_or_else(|| of_request().locale(), |l| l.0)
}

/// A choice of language, each written in itself. Choosing one posts the form to
/// `choose_language` (a cookie, and the preference when signed in); the server answers a
/// plain form post by sending the browser back to the page it came from (leptos_axum
/// redirects to the `Referer`), which then loads in the new language. A form rather than
/// a server action: a page reload follows anyway, and the browser's bundle carries no
/// action machinery for it (docs/benchmarks.md). The island only submits the form when
/// the choice changes.
#[island]
pub fn LanguageSwitcher() -> impl IntoView {
    super::island(None);
    use leptos::server_fn::ServerFn;
    let locale = use_locale();
    let current = Language::from(use_locale());
    let form = NodeRef::<leptos::html::Form>::new();
    view! {
        <super::Controls>
            <form class="language-switcher" method="post" action=ChooseLanguage::PATH node_ref=form>
                <label for="language-switcher" class="visually-hidden">{td_string!(locale, language.label)}</label>
                <select
                    id="language-switcher"
                    name="language"
                    on:change=move |_| {
                        if let Some(form) = form.get_untracked() {
                            let _ = form.submit();
                        }
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
            </form>
        </super::Controls>
    }
}
