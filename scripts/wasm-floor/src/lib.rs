//! A routed page that hydrates, sets its title, loads one server function's reply
//! through a resource under Suspense, and opens a panel on a click: what our first page
//! does, without our code. Only its size is measured (scripts/wasm-floor.sh); it is
//! never served.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

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

#[component]
fn Overview() -> impl IntoView {
    let data = Resource::new(|| (), |_| summary("a".into()));
    let open = RwSignal::new(false);
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Suspense fallback=|| "…">
            {move || Suspend::new(async move {
                match data.await {
                    Ok(s) => view! {
                        <p>{s.balance}</p>
                        <ul>{s.rows.into_iter().map(|(n, text)| view! { <li>{n}" "{text}</li> }).collect_view()}</ul>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <button on:click=move |_| open.update(|o| *o = !*o)>"Add credit"</button>
        <Show when=move || open.get()><p>"Panel"</p></Show>
    }
}

#[component]
fn App() -> impl IntoView {
    leptos_meta::provide_meta_context();
    view! {
        <Router>
            <main>
                <Routes fallback=|| "Not found">
                    <Route path=path!("/billing") view=Overview />
                </Routes>
            </main>
        </Router>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
