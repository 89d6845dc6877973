//! The browser entry point. The server renders every page whole; in the browser only
//! its islands, the interactive parts, come alive (`app::ui`, "Islands"). Leptos' own
//! script calls this, then hydrates each island it finds in the page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Called in `app`, not here: the islands' entry points live in `app`, and only a
    // call into it keeps the linker from leaving that crate out of the bundle.
    app::ui::hydrate_islands();
}
