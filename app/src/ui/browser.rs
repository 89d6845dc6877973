//! The few things only a browser does, each with a server-side twin that does nothing
//! (server rendering never calls them for real).

/// A fresh random token (a UUID from the browser's CSPRNG): a Pay click's idempotency
/// token, an export's download marker.
#[cfg(feature = "hydrate")]
pub fn new_token() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
pub fn new_token() -> String {
    String::new()
}

/// Sends the browser to another site (a payment gateway's page).
#[cfg(feature = "hydrate")]
pub fn go_to(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(url);
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn go_to(_url: &str) {}

/// Moves keyboard focus to the element with `id`, once the view has been drawn.
#[cfg(feature = "hydrate")]
pub fn focus_id(id: &'static str) {
    use wasm_bindgen::JsCast;
    leptos::prelude::request_animation_frame(move || {
        if let Some(el) = leptos::prelude::document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn focus_id(_id: &'static str) {}

/// Keeps Tab and Shift+Tab inside `container`: from its last focusable element Tab
/// goes to its first, and the other way round. (A modal `<dialog>` makes the page
/// behind it inert, but would let focus leave for the browser's own controls.)
#[cfg(feature = "hydrate")]
pub fn keep_focus_inside(container: &web_sys::Element, ev: &web_sys::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    if ev.key() != "Tab" {
        return;
    }
    let Ok(found) = container.query_selector_all(
        "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])",
    ) else {
        return;
    };
    let focusable: Vec<web_sys::HtmlElement> = (0..found.length())
        .filter_map(|i| found.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = leptos::prelude::document().active_element();
    let at = |el: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>())
    };
    let inside = active.as_ref().is_some_and(|a| container.contains(Some(a)));
    if ev.shift_key() && (at(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (at(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// Loads the page again (after the language changed).
#[cfg(feature = "hydrate")]
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn reload() {}

#[cfg(feature = "hydrate")]
thread_local! {
    /// How many of the page's islands are live, against how many the server drew;
    /// `None` until the browser's start has counted them.
    static ISLANDS: std::cell::Cell<(usize, Option<usize>)> = const { std::cell::Cell::new((0, None)) };
}

/// Counts the page's islands (`ui::hydrate_islands`), before any has hydrated.
#[cfg(feature = "hydrate")]
pub fn island_live_count_start() {
    let drawn = leptos::prelude::document()
        .query_selector_all("leptos-island")
        .map_or(0, |found| found.length() as usize);
    ISLANDS.with(|c| c.set((c.get().0, Some(drawn))));
    mark_if_all_live();
}

/// One more island is live (`ui::island`).
#[cfg(feature = "hydrate")]
pub fn island_live() {
    ISLANDS.with(|c| c.set((c.get().0 + 1, c.get().1)));
    mark_if_all_live();
}

/// `<body data-hydrated>` once every island the server drew is live. Its handlers are
/// attached by then: an island's body runs and its view hydrates in one task, before
/// the page's scripts (or a test) can look.
#[cfg(feature = "hydrate")]
fn mark_if_all_live() {
    let (live, drawn) = ISLANDS.with(std::cell::Cell::get);
    if drawn.is_some_and(|drawn| live >= drawn)
        && let Some(body) = leptos::prelude::document().body()
    {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
