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
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

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
                <HydrationScripts options />
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
    // `frontend` marks `<body data-hydrated>` once the page, lazy pieces included, is live.
    #[cfg(feature = "ssr")]
    provide_context(Preloaded::default());
    // A page drawn more than once in a request reads its data once (`page_resource`).
    #[cfg(feature = "ssr")]
    provide_context(page_resource::PageResources::default());
    // Leptos' integration (leptos_integration_utils 0.8.9) gathers the lazy pieces a
    // render touched and then adds a leptos_meta `<Link>` per file of theirs to the
    // head: on some pages only (the Overview and the sign-in page, not Credit History),
    // and there doubling ours (`preload_piece`), for 18% of the Overview's server work
    // (docs/benchmarks.md). A gathering context of our own, nearer the pieces, takes
    // their names instead, so Leptos' loop finds nothing to do and every page gets the
    // same preloads. (A hidden type of Leptos: an upgrade that changes it fails to
    // compile here rather than doubling the preloads again unseen.)
    #[cfg(feature = "ssr")]
    provide_context(leptos::PrefetchLazyFn::default());
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
                <Route path=path!("/sign-in") view={Lazy::<SignInPage>::new()} />
                // Async: the page waits for the session check, so a signed-out visit gets a
                // real redirect rather than a page that redirects after loading.
                <ParentRoute path=path!("") view=header::SignedIn ssr=SsrMode::Async>
                    <ParentRoute path=path!("/billing") view=billing::BillingPage>
                        <Route path=path!("") view={Lazy::<Overview>::new()} />
                        <Route path=path!("/history") view={Lazy::<CreditHistory>::new()} />
                        <Route path=path!("/payments") view={Lazy::<PaymentHistory>::new()} />
                        <Route path=path!("/vouchers") view={Lazy::<VoucherList>::new()} />
                        <Route path=path!("/plans") view={Lazy::<Plans>::new()} />
                        <Route path=path!("/settings") view={Lazy::<Settings>::new()} />
                        <Route path=path!("/top-up/:reference") view={Lazy::<TopUpOutcome>::new()} />
                    </ParentRoute>
                    <ParentRoute path=path!("/ops") view={Lazy::<Ops>::new()}>
                        <Route path=path!("") view={Lazy::<AccountLookup>::new()} />
                        <ParentRoute path=path!("/accounts/:id") view={Lazy::<Account>::new()}>
                            <Route path=path!("") view={Lazy::<AccountOverview>::new()} />
                            <Route path=path!("/history") view={Lazy::<CreditHistory>::new()} />
                            <Route path=path!("/payments") view={Lazy::<PaymentHistory>::new()} />
                            <Route path=path!("/audit") view={Lazy::<AccountAudit>::new()} />
                        </ParentRoute>
                        <Route path=path!("/approvals") view={Lazy::<Approvals>::new()} />
                        <Route path=path!("/audit") view={Lazy::<AuditLog>::new()} />
                        <Route path=path!("/vouchers") view={Lazy::<Campaigns>::new()} />
                        <Route path=path!("/plans") view={Lazy::<PlanCatalogue>::new()} />
                        <Route path=path!("/api-keys") view={Lazy::<ApiKeys>::new()} />
                    </ParentRoute>
                    <Route path=path!("") view=|| view! { <Redirect path="/billing" /> } />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Each page's code is its own piece of the browser bundle (`cargo leptos build
/// --split`), fetched when the page is first shown; for the page it renders, the server
/// names that piece in the document's head, so the browser fetches it beside the main
/// module. A page still loads its own data, as before: `data()` holds nothing.
macro_rules! lazy_pages {
    ($($route:ident => $($page:ident)::+;)*) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                preload_piece(stringify!($route));
                view! { <$($page)::+ /> }.into_any()
            }
        }
    )*};
}

/// The pieces whose preloads this response holds already: the router may draw a page's
/// view more than once while it renders a request.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
struct Preloaded(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<&'static str>>>);

/// Adds to the head a preload of every file of this route's piece of the bundle, as the
/// split manifest lists them, so the browser fetches them while the main module
/// downloads rather than after it starts. (Leptos' integration means to do this itself,
/// but reaches the head on some pages only: see `App`.)
///
/// One inline script that adds the `<link>`s, not a `<Link>` per file: a history page's
/// piece is 117 files, and drawing each through leptos_meta cost a fifth of the page's
/// render (docs/benchmarks.md, "Pages under load"). The script is written once per
/// route and kept: the manifest does not change while the server runs.
#[cfg(feature = "ssr")]
fn preload_piece(route: &'static str) {
    use leptos_meta::Script;
    if let Some(Preloaded(done)) = use_context::<Preloaded>() {
        let mut done = done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !done.insert(route) {
            return;
        }
    }
    let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else {
        return; // a build without --split
    };
    let script = preload_script(route, &manifest);
    let _ = view! { <Script>{script}</Script> }.to_html();
}

/// The script that preloads a route's piece (see [`preload_piece`]), made on the first
/// request for the route and kept.
#[cfg(feature = "ssr")]
fn preload_script(
    route: &'static str,
    manifest: &leptos::WasmSplitManifest,
) -> std::sync::Arc<str> {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex, PoisonError};
    static SCRIPTS: LazyLock<Mutex<HashMap<&'static str, Arc<str>>>> =
        LazyLock::new(Default::default);
    let mut scripts = SCRIPTS.lock().unwrap_or_else(PoisonError::into_inner);
    let script = scripts.entry(route).or_insert_with(|| {
        // `#[lazy_route]` names the piece `__<route in snake case>_view_<hash>`.
        let mut key = String::from("__");
        for (i, c) in route.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                key.push('_');
            }
            key.push(c.to_ascii_lowercase());
        }
        key.push_str("_view_");
        manifest.0.with_value(|(pkg, pieces, loader)| {
            let files: Vec<&String> = pieces
                .iter()
                .filter(|(name, _)| name.starts_with(&key))
                .flat_map(|(_, files)| files)
                .collect();
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

lazy_pages! {
    SignInPage => sign_in::SignInPage;
    Overview => billing::Overview;
    CreditHistory => history::CreditHistory;
    PaymentHistory => payments::PaymentHistory;
    VoucherList => vouchers::VoucherListPage;
    Plans => plans::PlansTab;
    Settings => settings::SettingsTab;
    TopUpOutcome => payments::TopUpOutcome;
    Ops => ops::OpsPage;
    AccountLookup => accounts::Lookup;
    Account => accounts::AccountPage;
    AccountOverview => accounts::AccountOverview;
    AccountAudit => audit_log::AccountAudit;
    Approvals => approvals::Approvals;
    AuditLog => audit_log::AuditLog;
    Campaigns => ops::Campaigns;
    PlanCatalogue => plan_catalogue::PlanCatalogue;
    ApiKeys => api_keys::ApiKeys;
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
