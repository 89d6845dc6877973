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

/// Room for the bundle's splitter in the read-only data. The splitter
/// (`scripts/wasm-split`, wasm_split_cli_support 0.2.3) lays each piece's data out
/// again inside the one read-only segment, every piece's share aligned, and if the
/// result is longer than the segment it keeps *all* the data in the main module: that
/// happened here by 306 bytes, which put 172 KB of every page's strings and tables in
/// the first page (docs/benchmarks.md, "The first page's bundle"). Nothing refers to
/// these bytes, so the splitter places them in no module; `#[used]` keeps the linker
/// from dropping them, and non-zero bytes keep them out of `.bss`.
#[used]
static SPLIT_ROOM: [u8; 4096] = [0xA5; 4096];
