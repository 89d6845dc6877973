//! Components and pages. No business rule lives here: pages call server functions and
//! show what they return.

mod accounts;
mod add_credit;
mod api_keys;
mod approvals;
mod audit_log;
mod billing;
mod billing_form;
mod browser;
mod header;
mod history;
mod language;
pub mod messages;
mod ops;
mod page_resource;
mod payments;
mod plan_catalogue;
mod plans;
mod reversals;
mod settings;
mod sign_in;
mod suspend;
mod vouchers;

use crate::i18n::*;
use language::use_locale;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang=language::of_request().as_str()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="icon" href="/favicon.ico" sizes="16x16" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from us and the inline ones Leptos
/// writes with this response's nonce (hydration, streamed chunks); WebAssembly may
/// compile; nothing may frame the page. Styles allow inline `style` attributes.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use axum::http::{HeaderValue, header};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The app: routes and the signed-in layout.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    language::provide();
    // A lazy island's piece is preloaded once per response (`island`).
    #[cfg(feature = "ssr")]
    provide_context(Preloaded::default());
    // A page drawn more than once in a request reads its data once (`page_resource`).
    #[cfg(feature = "ssr")]
    provide_context(page_resource::PageResources::default());
    view! {
        <Pages />
    }
}

/// The routes, inside the translations' context.
#[component]
fn Pages() -> impl IntoView {
    let locale = use_locale();
    let product = td_string!(locale, product);
    view! {
        <Stylesheet id="leptos" href="/pkg/billing.css" />
        <Title formatter=move |page: String| format!("{page} · {product}") />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/sign-in") view=sign_in::SignInPage />
                // Async: the page waits for the session check, so a signed-out visit gets a
                // real redirect rather than a page that redirects after loading.
                <ParentRoute path=path!("") view=header::SignedIn ssr=SsrMode::Async>
                    <ParentRoute path=path!("/billing") view=billing::BillingPage>
                        <Route path=path!("") view=billing::Overview />
                        <Route path=path!("/history") view=history::CreditHistory />
                        <Route path=path!("/payments") view=payments::PaymentHistory />
                        <Route path=path!("/vouchers") view=vouchers::VoucherListPage />
                        <Route path=path!("/plans") view=plans::PlansTab />
                        <Route path=path!("/settings") view=settings::SettingsTab />
                        <Route path=path!("/top-up/:reference") view=payments::TopUpOutcome />
                    </ParentRoute>
                    <ParentRoute path=path!("/ops") view=ops::OpsPage>
                        <Route path=path!("") view=accounts::Lookup />
                        <ParentRoute path=path!("/accounts/:id") view=accounts::AccountPage>
                            <Route path=path!("") view=accounts::AccountOverview />
                            <Route path=path!("/history") view=history::CreditHistory />
                            <Route path=path!("/payments") view=payments::PaymentHistory />
                            <Route path=path!("/audit") view=audit_log::AccountAudit />
                        </ParentRoute>
                        <Route path=path!("/approvals") view=approvals::Approvals />
                        <Route path=path!("/audit") view=audit_log::AuditLog />
                        <Route path=path!("/vouchers") view=ops::Campaigns />
                        <Route path=path!("/plans") view=plan_catalogue::PlanCatalogue />
                        <Route path=path!("/api-keys") view=api_keys::ApiKeys />
                    </ParentRoute>
                    <Route path=path!("") view=|| view! { <Redirect path="/billing" /> } />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Called first in every island's body (an island is the part of a page that comes
/// alive in the browser; the rest is the server's HTML). `piece` names a lazy island's
/// piece of the bundle (`#[island(lazy)]`: its code is fetched when the page holds
/// one), in snake case.
///
/// On the server, the piece's files are named in the document's head, so the browser
/// fetches them beside the main module rather than after it starts. In the browser, the
/// island counts as live: once every island of the page is, `<body>` gets
/// `data-hydrated`, the mark end-to-end tests (and anyone debugging) wait for before
/// clicking; an earlier mark would let a click land on HTML nothing listens to yet.
pub fn island(piece: Option<&'static str>) {
    #[cfg(feature = "ssr")]
    if let Some(piece) = piece {
        preload_piece(piece);
    }
    #[cfg(feature = "hydrate")]
    browser::island_live();
    let _ = piece;
}

/// An island's controls, disabled until the island is live: before then a click or
/// a keystroke would reach HTML nothing listens to yet, and be lost (or, typed into a
/// field, overwritten when the island takes the field over). One `<fieldset>` with no
/// box of its own (`display: contents`, style/main.css) and no role, whose `disabled`
/// reaches every control inside; an effect, which runs only once the island has
/// hydrated, lifts it.
#[component]
pub fn Controls(children: Children) -> impl IntoView {
    let live = RwSignal::new(false);
    Effect::new(move |_| live.set(true));
    view! {
        <fieldset class="controls" role="none" disabled=move || !live.get()>
            {children()}
        </fieldset>
    }
}

/// The browser's start (`frontend` calls it): Leptos' islands runtime; a server
/// function that answers with a redirect (a sign-in, to the person's home) loads that
/// page; then the islands are counted for the hydration mark.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
    let _ = leptos::server_fn::redirect::set_redirect_hook(browser::go_to);
    browser::island_live_count_start();
}

/// The pieces whose preloads this response holds already: a page may draw an island
/// more than once while it renders a request.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
struct Preloaded(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<&'static str>>>);

/// Adds to the head a preload of every file of this island's piece of the bundle, as
/// the split manifest lists them.
///
/// One inline script that adds the `<link>`s, not a `<Link>` per file: drawing each
/// file through leptos_meta cost a fifth of a page's render (docs/benchmarks.md,
/// "Pages under load"). The script is written once per piece and kept: the manifest
/// does not change while the server runs.
#[cfg(feature = "ssr")]
fn preload_piece(piece: &'static str) {
    use leptos_meta::Script;
    if let Some(Preloaded(done)) = use_context::<Preloaded>() {
        let mut done = done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !done.insert(piece) {
            return;
        }
    }
    let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else {
        return; // a build without --split
    };
    let script = preload_script(piece, &manifest);
    let _ = view! { <Script>{script}</Script> }.to_html();
}

/// The script that preloads a lazy island's piece (see [`preload_piece`]), made on the
/// first request for it and kept.
#[cfg(feature = "ssr")]
fn preload_script(
    piece: &'static str,
    manifest: &leptos::WasmSplitManifest,
) -> std::sync::Arc<str> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex, PoisonError};
    static SCRIPTS: LazyLock<Mutex<HashMap<&'static str, Arc<str>>>> =
        LazyLock::new(Default::default);
    let mut scripts = SCRIPTS.lock().unwrap_or_else(PoisonError::into_inner);
    let script = scripts.entry(piece).or_insert_with(|| {
        // `#[island(lazy)]` loads through a `#[lazy]` function named `<Island>_loader`,
        // whose piece the splitter names `<island in snake case>_loader_<hash>`.
        let key = format!("{piece}_loader_");
        manifest.0.with_value(|(pkg, pieces, loader)| {
            let files: Vec<&String> = pieces
                .iter()
                .filter(|(name, _)| name.starts_with(&key))
                .flat_map(|(_, files)| files)
                .collect();
            // `piece` is written by hand beside each island: a name that misses would
            // only lose the preload, so it is said once, in the log.
            if files.is_empty() {
                tracing::warn!(piece, "no piece of the split bundle is named {key}…");
            }
            // JSON is JavaScript; the splitter's names never hold `</`.
            let arguments = serde_json::to_string(&(pkg, loader, files)).unwrap_or_default();
            let function: Vec<&str> = include_str!("preload.js")
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect();
            format!("{}(...{arguments})", function.join("\n")).into()
        })
    });
    Arc::clone(script)
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, not_found.title) />
        <main class="narrow">
            <h1>{td_string!(locale, not_found.title)}</h1>
            <p>
                {td_string!(locale, not_found.body)} " " <a href="/billing">{td_string!(locale, not_found.link)}</a>
            </p>
        </main>
    }
}
