//! The Billing Management page and its Overview.

use super::header::ViewerResource;
use crate::model::ledger::Balances;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn BillingPage() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Title text="Billing Management" />
        <main class="page">
            <h1>"Billing Management"</h1>
            <nav class="tabs" aria-label="Billing sections">
                <a href="/billing" aria-current="page">
                    "Overview"
                </a>
            </nav>
            <Suspense>
                {move || Suspend::new(async move {
                    let balances = viewer.await.ok().flatten().and_then(|me| me.balances);
                    view! { <Overview balances /> }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Overview(balances: Option<Balances>) -> impl IntoView {
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
