//! The signed-in layout: the header on every signed-in page (product, total balance or
//! the operator's console link, user, sign out) above the page. Sends anyone not signed
//! in to the sign-in page. Which role may see which page is the page's own check
//! (`billing::BillingPage`, `ops::OpsPage`), as it is each server function's.

use super::language::use_locale;
use super::suspend::suspend;
use crate::api::{SignOut, get_viewer};
use crate::i18n::*;
use crate::model::error::AppError;
use crate::model::ledger::Balances;
use crate::model::money::Money;
use crate::model::session::{Role, Viewer};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};

/// The viewer, shared with the pages under the header so they need not fetch it again.
pub type ViewerResource = Resource<Result<Option<Viewer>, AppError>>;

/// Balances that changed on this page after the server drew it (a voucher applied):
/// the header and the Overview show these, at once, instead of the drawn ones.
#[derive(Clone, Copy)]
pub struct FreshBalances(pub RwSignal<Option<Balances>>);

impl FreshBalances {
    /// The page's: one for all its islands in the browser (they share no owner), a
    /// new one each time on the server (nothing changes while it draws).
    pub fn of_page() -> Self {
        #[cfg(feature = "hydrate")]
        thread_local!(static PAGE: ArcRwSignal<Option<Balances>> = ArcRwSignal::new(None));
        #[cfg(feature = "hydrate")]
        return Self(PAGE.with(|s| RwSignal::from(s.clone())));
        #[cfg(not(feature = "hydrate"))]
        Self(RwSignal::new(None))
    }

    /// The newest balances known: fresh ones if any, else the drawn ones.
    pub fn or(self, read: Option<Balances>) -> Option<Balances> {
        self.0.get().or(read)
    }
}

/// Opens the header's Add credit dialog from anywhere on the page, optionally with an
/// amount filled in (a plan's shortfall).
#[derive(Clone, Copy)]
pub struct AddCreditRequest {
    pub open: RwSignal<bool>,
    pub amount: RwSignal<Option<Money>>,
}

impl AddCreditRequest {
    /// The page's (as [`FreshBalances::of_page`]).
    pub fn of_page() -> Self {
        #[cfg(feature = "hydrate")]
        thread_local! {
            static PAGE: (ArcRwSignal<bool>, ArcRwSignal<Option<Money>>) =
                (ArcRwSignal::new(false), ArcRwSignal::new(None));
        }
        #[cfg(feature = "hydrate")]
        return PAGE.with(|(open, amount)| Self {
            open: open.clone().into(),
            amount: amount.clone().into(),
        });
        #[cfg(not(feature = "hydrate"))]
        Self {
            open: RwSignal::new(false),
            amount: RwSignal::new(None),
        }
    }

    /// Opens the dialog at the amount step with `amount` entered.
    pub fn open_with(self, amount: Money) {
        self.amount.set(Some(amount));
        self.open.set(true);
    }
}

#[component]
pub fn SignedIn() -> impl IntoView {
    let viewer: ViewerResource = Resource::new(|| (), |_| get_viewer());
    provide_context(viewer);
    let locale = use_locale();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
            {move || suspend(async move {
                match viewer.await {
                    Ok(Some(me)) => {
                        view! {
                            <Header me />
                            <Outlet />
                        }
                            .into_any()
                    }
                    Ok(None) | Err(AppError::SignInRequired) => {
                        view! { <Redirect path="/sign-in" /> }.into_any()
                    }
                    Err(e) => view! {
                        <main class="narrow">
                            <p role="alert">{super::messages::error(locale, &e)}</p>
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
    let locale = use_locale();
    use leptos::server_fn::ServerFn;
    let customer = me.role == Role::Customer;
    view! {
        <header class="topbar">
            <a class="brand" href=if customer { "/billing" } else { super::ops::HOME }>
                {td_string!(locale, product)}
            </a>
            <div class="topbar-account">
                {customer.then(|| view! { <super::add_credit::AddCredit /> })}
                {match me.balances {
                    _ if !customer => view! {
                        <a class="balance-chip" href=super::ops::HOME>
                            <span class="balance-chip-label">{td_string!(locale, header.operator_console)}</span>
                        </a>
                    }
                        .into_any(),
                    Some(read) => view! { <TotalBalance read /> }.into_any(),
                    None => view! {
                        <a class="balance-chip" href="/billing">
                            <span class="balance-chip-label">{td_string!(locale, header.no_profile)}</span>
                        </a>
                    }
                        .into_any(),
                }}
                {me
                    .plan_grace_until
                    .clone()
                    .filter(|_| customer)
                    .map(|until| {
                        view! {
                            <a class="grace-chip" href="/billing/plans">
                                {td_string!(locale, header.grace, until).to_string()}
                            </a>
                        }
                    })}
                <super::language::LanguageSwitcher />
                <span class="user-email" title=td_string!(locale, header.signed_in_as)>
                    {me.email}
                </span>
                // A plain form: the server answers it by sending the browser to the
                // sign-in page, with or without the bundle.
                <form method="post" action=SignOut::PATH>
                    <button type="submit" class="button-quiet">
                        {td_string!(locale, header.sign_out)}
                    </button>
                </form>
            </div>
        </header>
    }
}

/// The header's total, which follows the page's fresh balances (a voucher applied).
#[island]
fn TotalBalance(read: Balances) -> impl IntoView {
    super::island(None);
    let locale = use_locale();
    let fresh = FreshBalances::of_page();
    let total = move || {
        fresh
            .or(Some(read))
            .map(|b| b.total().to_string())
            .unwrap_or_default()
    };
    view! {
        <a
            class="balance-chip"
            href="/billing"
            aria-label=move || td_string!(locale, header.total_balance_of, amount = total()).to_string()
            title=td_string!(locale, header.open_billing)
        >
            <span class="balance-chip-label">{td_string!(locale, header.total_balance)}</span>
            " "
            <strong data-testid="header-balance">{total}</strong>
        </a>
    }
}
