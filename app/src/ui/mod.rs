//! Components and pages. No business rule lives here: pages call server functions and
//! show what they return.

mod add_credit;
mod billing;
mod browser;
mod header;
mod history;
mod payments;
mod sign_in;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The product's name, as the header and titles show it.
pub const PRODUCT_NAME: &str = "AI Cloud Credits";

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
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

/// The app: routes and the signed-in layout.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: the mark tells end-to-end tests
    // (and anyone debugging) that the page is live.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/billing.css" />
        <Title formatter=|page: String| format!("{page} · {PRODUCT_NAME}") />
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
                        <Route path=path!("/top-up/:reference") view=payments::TopUpOutcome />
                    </ParentRoute>
                    <Route path=path!("") view=|| view! { <Redirect path="/billing" /> } />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <main class="narrow">
            <h1>"Page not found"</h1>
            <p>
                "There is nothing at this address. " <a href="/billing">"Go to Billing Management"</a>
            </p>
        </main>
    }
}
