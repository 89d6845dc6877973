//! The browser entry point: hydrate the server-rendered page, then mark it live.
//!
//! The pages are pieces of the bundle that the router fetches when needed (`app::ui`),
//! so hydration is asynchronous: it waits for the current page's piece. Only once it
//! is done does `<body>` get `data-hydrated`, the mark end-to-end tests (and anyone
//! debugging) wait for before clicking: an earlier mark would let a click land on HTML
//! that Leptos has not taken over yet.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        let app = leptos::mount::hydrate_from_async(body.clone(), app::ui::App).await;
        // The app lives as long as the page.
        app.forget();
        let _ = body.set_attribute("data-hydrated", "");
    });
}
