//! The browser entry point: hydrate the server-rendered page, nothing else. Lazy, as
//! the pages are split into pieces the router loads (`app::ui`): hydration waits for
//! the current page's piece.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::ui::App);
}
