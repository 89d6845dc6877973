//! The Billing Management page: its tabs, and the Overview.

use super::header::{FreshBalances, ViewerResource};
use crate::model::error::AppError;
use crate::model::ledger::Balances;
use crate::model::money::Money;
use crate::model::session::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_location;

/// The page around the tabs, for customers. Billing pages show a customer's own
/// account; an operator has none and is refused, as the server functions refuse them.
#[component]
pub fn BillingPage() -> impl IntoView {
    // Read as it stands: the signed-in layout awaited the viewer before drawing this
    // page, and another Suspense here would be a boundary hydration trips over.
    let viewer = expect_context::<ViewerResource>();
    let operator =
        matches!(viewer.get_untracked(), Some(Ok(Some(me))) if me.role == Role::Operator);
    if !operator {
        return view! { <BillingTabs /> }.into_any();
    }
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Billing Management" />
        <main class="narrow">
            <h1>"Billing Management"</h1>
            <p role="alert">{AppError::Forbidden.to_string()}</p>
            <p>
                "Billing pages show a customer's own credits; operator accounts have none. "
                <a href=super::ops::HOME>"Open the operator console"</a>
            </p>
        </main>
    }
    .into_any()
}

#[component]
fn BillingTabs() -> impl IntoView {
    let path = use_location().pathname;
    let tab = move |href: &'static str, label: &'static str| {
        view! {
            <a href=href aria-current=move || (path.get() == href).then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <Title text="Billing Management" />
        <main class="page">
            <h1>"Billing Management"</h1>
            <nav class="tabs" aria-label="Billing sections">
                {tab("/billing", "Overview")}
                {tab("/billing/history", "Credit History")}
                {tab("/billing/payments", "Payment History")}
                {tab("/billing/vouchers", "Voucher List")}
                {tab("/billing/plans", "Billing Plans")}
                {tab("/billing/settings", "Settings")}
            </nav>
            <Outlet />
        </main>
    }
}

/// Total balance and its breakdown, and Add Voucher.
#[component]
pub fn Overview() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    let fresh = expect_context::<FreshBalances>();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let me = viewer.await.ok().flatten();
                let read = me.as_ref().and_then(|me| me.balances);
                let owed = me.and_then(|me| me.owed);
                // Keyed on whether there is an account: new balances after a voucher
                // update the figures in place.
                move || view! { <Balances balances=fresh.or(read) owed /> }
            })}
        </Suspense>
        <super::vouchers::ApplyVoucher />
    }
}

#[component]
fn Balances(balances: Option<Balances>, owed: Option<Money>) -> impl IntoView {
    let Some(balances) = balances else {
        return view! {
            <section aria-labelledby="overview-heading" class="overview">
                <h2 id="overview-heading">"Overview"</h2>
                <p>
                    "You have no billing profile yet. Your first top-up sets your billing details and currency."
                </p>
            </section>
        }
        .into_any();
    };
    view! {
        <section aria-labelledby="overview-heading" class="overview">
            <h2 id="overview-heading">"Overview"</h2>
            <dl class="balance-cards">
                <div class="card card-total">
                    <dt>"Total balance"</dt>
                    <dd>{balances.total().to_string()}</dd>
                </div>
                <div class="card">
                    <dt>"Top-up credits"</dt>
                    <dd>{balances.top_up.to_string()}</dd>
                </div>
                <div class="card">
                    <dt>"Voucher credits"</dt>
                    <dd>{balances.voucher.to_string()}</dd>
                </div>
            </dl>
            {owed
                .map(|owed| {
                    view! {
                        <p class="notice notice-warning" role="status">
                            {format!(
                                "You owe {owed} for a charged-back payment: credits you had already used from it. Your next top-up pays this first.",
                            )}
                        </p>
                    }
                })}
            <p class="muted">
                "Usage spends voucher credits first (soonest-expiring first), then top-up credits. Balances are in "
                {balances.currency().code()} "."
            </p>
        </section>
    }
    .into_any()
}
