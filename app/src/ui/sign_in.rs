//! The sign-in page.

use crate::api::SignIn;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || {
        sign_in
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| super::messages::error(i18n, &e))
    };
    view! {
        <Title text=t_string!(i18n, sign_in.title) />
        <main class="sign-in">
            <super::language::LanguageSwitcher />
            <h1>{t_string!(i18n, product)}</h1>
            <p class="muted">{t_string!(i18n, sign_in.intro)}</p>
            <ActionForm action=sign_in>
                <label for="email">{t_string!(i18n, sign_in.email)}</label>
                <input id="email" type="email" name="email" autocomplete="username" required />
                <label for="password">{t_string!(i18n, sign_in.password)}</label>
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
                            t_string!(i18n, sign_in.pending)
                        } else {
                            t_string!(i18n, sign_in.submit)
                        }
                    }}
                </button>
            </ActionForm>
        </main>
    }
}
