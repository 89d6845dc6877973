//! The Billing Management page: its tabs, and the Overview.

use super::header::{FreshBalances, ViewerResource};
use super::language::use_locale;
use super::suspend::suspend;
use crate::i18n::*;
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
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, billing.title) />
        <main class="narrow">
            <h1>{td_string!(locale, billing.title)}</h1>
            <p role="alert">{super::messages::error(locale, &AppError::Forbidden)}</p>
            <p>
                {td_string!(locale, billing.operator_body)} " "
                <a href=super::ops::HOME>{td_string!(locale, billing.operator_link)}</a>
            </p>
        </main>
    }
    .into_any()
}

#[component]
fn BillingTabs() -> impl IntoView {
    let locale = use_locale();
    let path = use_location().pathname;
    let tab = move |href: &'static str, label: &'static str| {
        view! {
            <a href=href aria-current=move || (path.get() == href).then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <Title text=td_string!(locale, billing.title) />
        <main class="page">
            <h1>{td_string!(locale, billing.title)}</h1>
            <nav class="tabs" aria-label=td_string!(locale, billing.sections)>
                {tab("/billing", td_string!(locale, billing.tab_overview))}
                {tab("/billing/history", td_string!(locale, billing.tab_history))}
                {tab("/billing/payments", td_string!(locale, billing.tab_payments))}
                {tab("/billing/vouchers", td_string!(locale, billing.tab_vouchers))}
                {tab("/billing/plans", td_string!(locale, billing.tab_plans))}
                {tab("/billing/settings", td_string!(locale, billing.tab_settings))}
            </nav>
            <Outlet />
        </main>
    }
}

/// Total balance and its breakdown, and Add Voucher.
#[component]
pub fn Overview() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Suspense>
            {move || suspend(async move {
                let me = viewer.await.ok().flatten();
                let read = me.as_ref().and_then(|me| me.balances);
                let owed = me.and_then(|me| me.owed);
                view! { <Balances read owed /> }
            })}
        </Suspense>
        <super::vouchers::ApplyVoucher />
    }
}

/// The account's balances, which follow the page's fresh ones (a voucher applied).
#[island]
fn Balances(read: Option<Balances>, owed: Option<Money>) -> impl IntoView {
    super::island(None);
    let fresh = FreshBalances::of_page();
    move || view! { <BalanceCards balances=fresh.or(read) owed /> }
}

#[component]
fn BalanceCards(balances: Option<Balances>, owed: Option<Money>) -> impl IntoView {
    let locale = use_locale();
    let Some(balances) = balances else {
        return view! {
            <section aria-labelledby="overview-heading" class="overview">
                <h2 id="overview-heading">{td_string!(locale, overview.heading)}</h2>
                <p>{td_string!(locale, overview.no_profile)}</p>
            </section>
        }
        .into_any();
    };
    view! {
        <section aria-labelledby="overview-heading" class="overview">
            <h2 id="overview-heading">{td_string!(locale, overview.heading)}</h2>
            <dl class="balance-cards">
                <div class="card card-total">
                    <dt>{td_string!(locale, overview.total)}</dt>
                    <dd>{balances.total().to_string()}</dd>
                </div>
                <div class="card">
                    <dt>{td_string!(locale, overview.top_up)}</dt>
                    <dd>{balances.top_up.to_string()}</dd>
                </div>
                <div class="card">
                    <dt>{td_string!(locale, overview.voucher)}</dt>
                    <dd>{balances.voucher.to_string()}</dd>
                </div>
            </dl>
            {owed
                .map(|owed| {
                    view! {
                        <p class="notice notice-warning" role="status">
                            {td_string!(locale, overview.owed, owed).to_string()}
                        </p>
                    }
                })}
            <p class="muted">
                {td_string!(locale, overview.spending, currency = balances.currency().code()).to_string()}
            </p>
        </section>
    }
    .into_any()
}
