//! The signed-in layout: the header on every signed-in page (product, total balance,
//! user, sign out) above the page. Sends anyone not signed in to the sign-in page.

use crate::api::{SignOut, get_viewer};
use crate::model::error::AppError;
use crate::model::session::{Role, Viewer};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};

/// The viewer, shared with the pages under the header so they need not fetch it again.
pub type ViewerResource = Resource<Result<Option<Viewer>, AppError>>;

#[component]
pub fn SignedIn() -> impl IntoView {
    let viewer: ViewerResource = Resource::new(|| (), |_| get_viewer());
    provide_context(viewer);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(me)) if me.role == Role::Operator => {
                        // Billing pages show a customer's own account; an operator has
                        // none. Refused as the server functions refuse it.
                        #[cfg(feature = "ssr")]
                        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                            response.set_status(axum::http::StatusCode::FORBIDDEN);
                        }
                        view! {
                            <Header me />
                            <main class="narrow">
                                <h1>"Billing Management"</h1>
                                <p role="alert">{AppError::Forbidden.to_string()}</p>
                                <p>"Billing pages show a customer's own credits; operator accounts have none."</p>
                            </main>
                        }
                            .into_any()
                    }
                    Ok(Some(me)) => view! {
                        <Header me />
                        <Outlet />
                    }
                        .into_any(),
                    Ok(None) | Err(AppError::SignInRequired) => {
                        view! { <Redirect path="/sign-in" /> }.into_any()
                    }
                    Err(e) => view! {
                        <main class="narrow">
                            <p role="alert">{e.to_string()}</p>
                        </main>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Header(me: Viewer) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let customer = me.role == Role::Customer;
    let total = me.balances.map(|b| b.total().to_string());
    let label = total.clone();
    view! {
        <header class="topbar">
            <a class="brand" href="/billing">
                {super::PRODUCT_NAME}
            </a>
            <div class="topbar-account">
                {customer.then(|| view! { <super::add_credit::AddCredit /> })}
                {match total {
                    _ if !customer => view! {
                        <span class="balance-chip">
                            <span class="balance-chip-label">"Operator"</span>
                        </span>
                    }
                        .into_any(),
                    Some(total) => view! {
                        <a
                            class="balance-chip"
                            href="/billing"
                            aria-label=format!("Total balance {}", label.clone().unwrap_or_default())
                            title="Open Billing Management"
                        >
                            <span class="balance-chip-label">"Balance"</span>
                            <strong data-testid="header-balance">{total}</strong>
                        </a>
                    }
                        .into_any(),
                    None => view! {
                        <a class="balance-chip" href="/billing">
                            <span class="balance-chip-label">"No billing profile yet"</span>
                        </a>
                    }
                        .into_any(),
                }}
                <span class="user-email" title="Signed in as">
                    {me.email}
                </span>
                <ActionForm action=sign_out>
                    <button type="submit" class="button-quiet">
                        "Sign out"
                    </button>
                </ActionForm>
            </div>
        </header>
    }
}
