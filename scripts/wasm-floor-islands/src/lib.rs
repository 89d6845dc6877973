//! The first page as islands: the server renders the page (title, figures, table) and
//! the browser hydrates only the Add credit button, whose panel calls a server function
//! when it opens. No router, no resources in the browser. Only its size is measured
//! (scripts/wasm-floor.sh); it is never served.

use leptos::prelude::*;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    pub balance: String,
    pub rows: Vec<(i64, String)>,
}

#[server]
pub async fn summary(account: String) -> Result<Figures, ServerFnError> {
    // Compiled for the browser only: this body is never built.
    Ok(Figures {
        balance: account,
        rows: Vec::new(),
    })
}

#[island]
fn AddCredit() -> impl IntoView {
    let open = RwSignal::new(false);
    let load = Action::new(|_: &()| summary("a".into()));
    view! {
        <button on:click=move |_| {
            open.update(|o| *o = !*o);
            load.dispatch(());
        }>"Add credit"</button>
        <Show when=move || open.get()>
            <p>{move || match load.value().get() {
                Some(Ok(figures)) => figures.balance,
                Some(Err(e)) => e.to_string(),
                None => "…".to_owned(),
            }}</p>
        </Show>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
