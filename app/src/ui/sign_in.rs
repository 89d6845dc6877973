//! The sign-in page.

use super::language::use_locale;
use crate::api::SignIn;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignInPage() -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, sign_in.title) />
        <main class="sign-in">
            <super::language::LanguageSwitcher />
            <h1>{td_string!(locale, product)}</h1>
            <p class="muted">{td_string!(locale, sign_in.intro)}</p>
            <SignInForm />
        </main>
    }
}

/// The form. On success the server answers with a redirect to the person's home,
/// which the browser loads (`ui::hydrate_islands`). Not behind `Controls`: before the
/// island is live (or without scripts) the form posts itself to the same server
/// function, which answers with the same redirect, and what was typed stays.
#[island(lazy)]
fn SignInForm() -> impl IntoView {
    super::island(Some("sign_in_form"));
    let locale = use_locale();
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || {
        sign_in
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| super::messages::error(locale, &e))
    };
    view! {
        <ActionForm action=sign_in>
            <label for="email">{td_string!(locale, sign_in.email)}</label>
            <input id="email" type="email" name="email" autocomplete="username" required />
            <label for="password">{td_string!(locale, sign_in.password)}</label>
            <input
                id="password"
                type="password"
                name="password"
                autocomplete="current-password"
                required
            />
            <Show when=move || error().is_some()>
                <p class="form-error" role="alert">
                    {error}
                </p>
            </Show>
            <button type="submit" class="button-primary" disabled=move || sign_in.pending().get()>
                {move || {
                    if sign_in.pending().get() {
                        td_string!(locale, sign_in.pending)
                    } else {
                        td_string!(locale, sign_in.submit)
                    }
                }}
            </button>
        </ActionForm>
    }
}
