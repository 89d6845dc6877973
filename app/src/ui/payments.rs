//! After the gateway: the outcome page of one payment, and the Payment History tab.

use super::history::Pager;
use super::language::use_locale;
use super::messages;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{account_payment_history, get_payment_outcome, payment_history};
use crate::i18n::*;
use crate::model::history::{HistoryFilter, PageCursor};
use crate::model::top_up::{PaymentOutcome, PaymentPage, PaymentStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map};
use std::time::Duration;

/// How often a pending payment's page asks again.
const POLL: Duration = Duration::from_secs(2);

/// The outcome page the customer returns to: Success (with the new balance), Pending
/// (updating by itself until the gateway's callback arrives) or Failed.
#[component]
pub fn TopUpOutcome() -> impl IntoView {
    let locale = use_locale();
    let reference = use_params_map().with_untracked(|p| p.get("reference").unwrap_or_default());
    view! {
        <Title text=td_string!(locale, payments.top_up) />
        <LiveOutcome reference />
    }
}

/// The outcome, asked for again every few seconds while pending. When it settles the
/// page loads again, so the header's balance is the new one too.
#[island(lazy)]
fn LiveOutcome(reference: String) -> impl IntoView {
    super::island(Some("live_outcome"));
    let locale = use_locale();
    let tick = RwSignal::new(0_u32);
    let outcome = page_resource(|| {
        Resource::new(
            move || (reference.clone(), tick.get()),
            |(r, _)| get_payment_outcome(r),
        )
    });
    let was_pending = StoredValue::new(false);
    Effect::new(move |_| {
        let Some(Ok(Some(o))) = outcome.get() else {
            return;
        };
        if o.status == PaymentStatus::Pending {
            was_pending.set_value(true);
            set_timeout(move || tick.try_update(|t| *t += 1).unwrap_or(()), POLL);
        } else if was_pending.get_value() {
            super::browser::reload();
        }
    });
    view! {
        <Transition fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
            {move || suspend(async move {
                match outcome.await {
                    Ok(Some(o)) => view! { <Outcome o /> }.into_any(),
                    Ok(None) => view! {
                        <section class="outcome">
                            <h2>{td_string!(locale, payments.not_found)}</h2>
                            <p>{td_string!(locale, payments.not_found_body)}</p>
                            <p><a href="/billing/payments">{td_string!(locale, payments.view_history)}</a></p>
                        </section>
                    }
                        .into_any(),
                    Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Outcome(o: PaymentOutcome) -> impl IntoView {
    let locale = use_locale();
    let method = o.method.label();
    let amount = &o.amount;
    let (title, class, body) = match o.status {
        PaymentStatus::Success => (
            td_string!(locale, payments.success_title),
            "outcome outcome-success",
            td_string!(locale, payments.success_body, amount, balance = o.balance).to_string(),
        ),
        PaymentStatus::Pending => (
            td_string!(locale, payments.pending_title),
            "outcome outcome-pending",
            td_string!(locale, payments.pending_body, method, amount).to_string(),
        ),
        PaymentStatus::Failed => (
            if o.cancelled {
                td_string!(locale, payments.cancelled_title)
            } else {
                td_string!(locale, payments.failed_title)
            },
            "outcome outcome-failed",
            {
                let failed = td_string!(locale, payments.failed_body, amount).to_string();
                match o.reason.clone() {
                    Some(reason) => {
                        format!("{failed} {}", td_string!(locale, payments.reason, reason))
                    }
                    None => failed,
                }
            },
        ),
    };
    view! {
        <section class=class aria-labelledby="outcome-heading">
            <h2 id="outcome-heading">{title}</h2>
            <p role="status">{body}</p>
            <dl class="summary">
                <dt>{td_string!(locale, payments.reference)}</dt>
                <dd>{o.reference}</dd>
                <dt>{td_string!(locale, payments.amount)}</dt>
                <dd>{o.amount.to_string()}</dd>
                <dt>{td_string!(locale, payments.method)}</dt>
                <dd>{method}</dd>
                <dt>{td_string!(locale, payments.status)}</dt>
                <dd>{messages::payment_status(locale, o.status)}</dd>
            </dl>
            <p class="outcome-links">
                <a class="button-primary" href="/billing">{td_string!(locale, payments.back)}</a>
                <a href="/billing/payments">{td_string!(locale, payments.view_history)}</a>
            </p>
        </section>
    }
}

const PATH: &str = "/billing/payments";

/// Every top-up, newest first, a page at a time.
#[component]
pub fn PaymentHistory() -> impl IntoView {
    let locale = use_locale();
    let search = use_location().search;
    let account = super::history::scope();
    let scope = StoredValue::new(account.clone());
    let page = page_resource(|| {
        Resource::new(move || search.get(), {
            let account = account.clone();
            move |query| {
                let account = account.clone();
                async move {
                    match account {
                        Some(id) => account_payment_history(id, query).await,
                        None => payment_history(query).await,
                    }
                }
            }
        })
    });
    view! {
        <Title text=td_string!(locale, payments.title) />
        <section aria-labelledby="payments-heading" class="history">
            <h2 id="payments-heading">{td_string!(locale, payments.title)}</h2>
            <Transition fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
                {move || suspend(async move {
                    match page.await {
                        Ok(p) => view! { <PaymentTable page=p size=HistoryFilter::from_query_string(&search.get_untracked()).page_size account=scope.get_value() /> }.into_any(),
                        Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn PaymentTable(page: PaymentPage, size: u32, account: Option<String>) -> impl IntoView {
    let locale = use_locale();
    if page.rows.is_empty() {
        return view! {
            <p class="empty">
                {if account.is_some() {
                    td_string!(locale, payments.none)
                } else {
                    td_string!(locale, payments.none_add)
                }}
            </p>
        }
        .into_any();
    }
    // The console's page of an account pages through its own address.
    let base = match &account {
        Some(id) => format!("/ops/accounts/{id}/payments"),
        None => PATH.to_owned(),
    };
    let link = |cursor: PageCursor| {
        let filter = HistoryFilter {
            page_size: size,
            cursor: Some(cursor),
            ..HistoryFilter::default()
        };
        format!("{base}{}", filter.to_query_string())
    };
    let newer = page.previous.map(|c| link(PageCursor::Before(c)));
    let older = page.next.map(|c| link(PageCursor::After(c)));
    view! {
        <div class="table-scroll">
            // Cards on a phone (CSS); the roles keep it a table for screen readers.
            <table aria-label=td_string!(locale, payments.table) role="table" class="cards-on-phone">
                <thead role="rowgroup">
                    <tr role="row">
                        <th scope="col" role="columnheader">{td_string!(locale, payments.date)}</th>
                        <th scope="col" role="columnheader" class="num">{td_string!(locale, payments.amount)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, payments.method)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, payments.status)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, payments.reference)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, payments.gateway_reference)}</th>
                    </tr>
                </thead>
                <tbody role="rowgroup">
                    {page
                        .rows
                        .into_iter()
                        .map(|row| {
                            let status_class = match row.status {
                                PaymentStatus::Success => "status status-success",
                                PaymentStatus::Pending => "status status-processed",
                                PaymentStatus::Failed => "status status-failed",
                            };
                            view! {
                                <tr role="row">
                                    <td role="cell" class="nowrap" data-label=td_string!(locale, payments.date)>{row.date}</td>
                                    <td role="cell" class="num" data-label=td_string!(locale, payments.amount)>{row.amount.to_string()}</td>
                                    <td role="cell" data-label=td_string!(locale, payments.method)>{row.method.label()}</td>
                                    <td role="cell" data-label=td_string!(locale, payments.status)>
                                        <span class=status_class>{messages::payment_status(locale, row.status)}</span>
                                    </td>
                                    <td role="cell" class="nowrap" data-label=td_string!(locale, payments.reference)>
                                        {if account.is_some() {
                                            row.reference.clone().into_any()
                                        } else {
                                            view! { <a href=format!("/billing/top-up/{}", row.reference)>{row.reference.clone()}</a> }.into_any()
                                        }}
                                    </td>
                                    <td role="cell" class="nowrap" data-label=td_string!(locale, payments.gateway_reference)>{row.gateway_reference.unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <Pager newer older />
    }
    .into_any()
}
