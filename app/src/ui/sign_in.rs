//! The sign-in page.

use crate::api::SignIn;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignInPage() -> impl IntoView {
    let sign_in = ServerAction::<SignIn>::new();
    let error = move || {
        sign_in
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Sign in" />
        <main class="sign-in">
            <h1>{super::PRODUCT_NAME}</h1>
            <p class="muted">"Sign in to manage your credits and billing."</p>
            <ActionForm action=sign_in>
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required />
                <label for="password">"Password"</label>
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
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </main>
    }
}
