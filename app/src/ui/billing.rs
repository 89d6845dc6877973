//! The Billing Management page: its tabs, and the Overview.

use super::header::ViewerResource;
use crate::model::ledger::Balances;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_location;

/// The page around the tabs.
#[component]
pub fn BillingPage() -> impl IntoView {
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
            </nav>
            <Outlet />
        </main>
    }
}

/// Total balance and its breakdown.
#[component]
pub fn Overview() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let balances = viewer.await.ok().flatten().and_then(|me| me.balances);
                view! { <Balances balances /> }
            })}
        </Suspense>
    }
}

#[component]
fn Balances(balances: Option<Balances>) -> impl IntoView {
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
            <p class="muted">
                "Usage spends voucher credits first (soonest-expiring first), then top-up credits. Balances are in "
                {balances.currency().code()} "."
            </p>
        </section>
    }
    .into_any()
}
