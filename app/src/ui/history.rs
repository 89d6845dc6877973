//! The Credit History tab: filters (kept in the URL), the table, paging, Export Excel.

use super::browser::new_token;
use super::language::use_locale;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{
    account_credit_history, account_credit_history_count, credit_history, credit_history_count,
};
use crate::i18n::*;
use crate::model::history::{
    HistoryFilter, HistoryPage, HistoryRow, Matches, PAGE_SIZES, PageCursor, services_of,
};
use crate::model::ledger::{Bucket, Status};
use crate::model::money::group_digits;
use crate::model::settings::Language;
use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

const PATH: &str = "/billing/history";

/// Whose history a tab shows: the signed-in customer's (no context), or the account an
/// operator opened in the console (its page provides this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountScope(pub String);

/// The account the console opened, if any.
pub fn scope() -> Option<String> {
    use_context::<AccountScope>().map(|s| s.0)
}

/// Where this history lives: the customer's tab, or the console's page of the account.
fn base(scope: &Option<String>) -> String {
    match scope {
        Some(id) => format!("/ops/accounts/{id}/history"),
        None => PATH.to_owned(),
    }
}

fn href(base: &str, filter: &HistoryFilter) -> String {
    format!("{base}{}", filter.to_query_string())
}

#[component]
pub fn CreditHistory() -> impl IntoView {
    let search = use_location().search;
    let filter = Memo::new(move |_| HistoryFilter::from_query_string(&search.get()));
    let account = scope();
    let base = StoredValue::new(base(&account));
    let page = page_resource(|| {
        Resource::new(move || search.get(), {
            let account = account.clone();
            move |query| {
                let account = account.clone();
                async move {
                    match account {
                        Some(id) => account_credit_history(id, query).await,
                        None => credit_history(query).await,
                    }
                }
            }
        })
    });
    let count = page_resource(|| {
        Resource::new(move || filter.get().first_page().to_query_string(), {
            let account = account.clone();
            move |query| {
                let account = account.clone();
                async move {
                    match account {
                        Some(id) => account_credit_history_count(id, query).await,
                        None => credit_history_count(query).await,
                    }
                }
            }
        })
    });
    let query = search.get_untracked();
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, history.title) />
        <section aria-labelledby="history-heading" class="history">
            <div class="history-head">
                <h2 id="history-heading">{td_string!(locale, history.title)}</h2>
                <ExportButton query=query.clone() account=account.clone() />
            </div>
            <HistoryFilters query base=base.get_value() />
            <p class="muted history-count" aria-live="polite">
                <Transition>
                    {move || suspend(async move {
                        match count.await {
                            Ok(Matches::Exactly(n)) => td_string!(locale, history.count, count = n).to_string(),
                            Ok(Matches::MoreThan(n)) => {
                                let limit = group_digits(&n.to_string(), Language::from(locale).thousands());
                                td_string!(locale, history.over_limit, limit).to_string()
                            }
                            Err(_) => String::new(),
                        }
                    })}
                </Transition>
            </p>
            // Transition keeps the old rows on screen until the new ones arrive.
            <Transition fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
                {move || suspend(async move {
                    match page.await {
                        Ok(p) => view! { <Table page=p filter=filter.get_untracked() base=base.get_value() /> }.into_any(),
                        Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The filters, from the page's query (`query`). A change loads the page of the new
/// filters from `base` (the server draws the rows).
#[island(lazy)]
fn HistoryFilters(query: String, base: String) -> impl IntoView {
    super::island(Some("history_filters"));
    let locale = use_locale();
    let filter = RwSignal::new(HistoryFilter::from_query_string(&query));
    let base = StoredValue::new(base);
    let apply = move |next: HistoryFilter| {
        filter.set(next.clone());
        super::browser::go_to(&href(&base.read_value(), &next.first_page()));
    };
    let date_error = RwSignal::new(None::<String>);
    let set_date = move |which: &'static str, value: String| {
        let mut next = filter.get_untracked();
        let day = NaiveDate::parse_from_str(&value, "%Y-%m-%d").ok();
        match which {
            "start" => next.start = day,
            _ => next.end = day,
        }
        match next.validate() {
            Ok(()) => {
                date_error.set(None);
                apply(next);
            }
            Err(e) => date_error.set(Some(super::messages::problem(
                locale,
                &crate::model::problem::Problem::Filter(e),
            ))),
        }
    };
    let day = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };

    view! {
        <super::Controls>
            <form class="filters" aria-label=td_string!(locale, history.filters) on:submit=|ev| ev.prevent_default()>
                <div class="filter">
                    <label for="balance-type">{td_string!(locale, history.balance_type)}</label>
                    <select
                        id="balance-type"
                        prop:value=move || filter.get().bucket.as_str()
                        on:change=move |ev| {
                            let mut next = filter.get_untracked();
                            next.bucket = Bucket::parse(&event_target_value(&ev)).unwrap_or(Bucket::TopUp);
                            let possible = services_of(next.bucket);
                            next.services.retain(|s| possible.contains(s));
                            apply(next);
                        }
                    >
                        {Bucket::ALL
                            .iter()
                            .map(|b| view! { <option value=b.as_str()>{super::messages::bucket(locale, *b)}</option> })
                            .collect_view()}
                    </select>
                </div>
                <fieldset class="filter">
                    <legend>{td_string!(locale, history.service)}</legend>
                    {move || {
                        services_of(filter.get().bucket)
                            .into_iter()
                            .map(|service| {
                                view! {
                                    <label class="check">
                                        <input
                                            type="checkbox"
                                            prop:checked=move || filter.get().services.contains(&service)
                                            on:change=move |_| {
                                                let mut next = filter.get_untracked();
                                                if let Some(i) = next.services.iter().position(|s| *s == service) {
                                                    next.services.remove(i);
                                                } else {
                                                    next.services.push(service);
                                                }
                                                apply(next);
                                            }
                                        />
                                        {super::messages::service(locale, service)}
                                    </label>
                                }
                            })
                            .collect_view()
                    }}
                </fieldset>
                <fieldset class="filter">
                    <legend>{td_string!(locale, history.status)}</legend>
                    {Status::ALL
                        .iter()
                        .map(|&status| {
                            view! {
                                <label class="check">
                                    <input
                                        type="checkbox"
                                        prop:checked=move || filter.get().statuses.contains(&status)
                                        on:change=move |_| {
                                            let mut next = filter.get_untracked();
                                            if let Some(i) = next.statuses.iter().position(|s| *s == status) {
                                                next.statuses.remove(i);
                                            } else {
                                                next.statuses.push(status);
                                            }
                                            apply(next);
                                        }
                                    />
                                    {super::messages::status(locale, status)}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <div class="filter dates">
                    <div>
                        <label for="start-date">{td_string!(locale, history.start_date)}</label>
                        <input
                            id="start-date"
                            type="date"
                            prop:value=move || day(filter.get().start)
                            on:change=move |ev| set_date("start", event_target_value(&ev))
                            aria-describedby="date-error"
                        />
                    </div>
                    <div>
                        <label for="end-date">{td_string!(locale, history.end_date)}</label>
                        <input
                            id="end-date"
                            type="date"
                            prop:value=move || day(filter.get().end)
                            on:change=move |ev| set_date("end", event_target_value(&ev))
                            aria-describedby="date-error"
                        />
                    </div>
                    <p id="date-error" class="form-error" role="alert" hidden=move || date_error.get().is_none()>
                        {move || date_error.get()}
                    </p>
                </div>
                <div class="filter">
                    <label for="page-size">{td_string!(locale, history.page_size)}</label>
                    <select
                        id="page-size"
                        prop:value=move || filter.get().page_size.to_string()
                        on:change=move |ev| {
                            let mut next = filter.get_untracked();
                            next.page_size = event_target_value(&ev).parse().unwrap_or(PAGE_SIZES[0]);
                            apply(next);
                        }
                    >
                        {PAGE_SIZES
                            .iter()
                            .map(|n| view! { <option value=n.to_string()>{n.to_string()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <button
                    type="button"
                    class="button-quiet"
                    disabled=move || !filter.get().is_filtered()
                    on:click=move |_| {
                        date_error.set(None);
                        apply(HistoryFilter::default());
                    }
                >
                    {td_string!(locale, history.clear)}
                </button>
            </form>
        </super::Controls>
    }
}

#[component]
fn Table(page: HistoryPage, filter: HistoryFilter, base: String) -> impl IntoView {
    let locale = use_locale();
    let with_code = filter.bucket == Bucket::Voucher;
    if page.rows.is_empty() {
        return view! {
            <p class="empty">
                {if filter.is_filtered() {
                    td_string!(locale, history.none_match)
                } else {
                    td_string!(locale, history.none_yet)
                }}
            </p>
        }
        .into_any();
    }
    let newer = page.previous.map(|c| {
        href(
            &base,
            &HistoryFilter {
                cursor: Some(PageCursor::Before(c)),
                ..filter.clone()
            },
        )
    });
    let older = page.next.map(|c| {
        href(
            &base,
            &HistoryFilter {
                cursor: Some(PageCursor::After(c)),
                ..filter.clone()
            },
        )
    });
    view! {
        <div class="table-scroll">
            // Explicit roles: on a phone the rows are laid out as cards (CSS), and the
            // roles keep them a table for screen readers.
            <table aria-label=td_string!(locale, history.table) role="table" class="cards-on-phone">
                <thead role="rowgroup">
                    <tr role="row">
                        <th scope="col" role="columnheader">{td_string!(locale, history.date)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, history.service)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, history.source)}</th>
                        <th scope="col" role="columnheader">{td_string!(locale, history.description)}</th>
                        {with_code.then(|| view! { <th scope="col" role="columnheader">{td_string!(locale, history.code)}</th> })}
                        <th scope="col" role="columnheader">{td_string!(locale, history.status)}</th>
                        <th scope="col" role="columnheader" class="num">{td_string!(locale, history.amount)}</th>
                    </tr>
                </thead>
                <tbody role="rowgroup" inner_html=rows_html(locale, &page.rows, with_code)></tbody>
            </table>
        </div>
        <p class="muted small">{td_string!(locale, history.times_in, zone = page.time_zone).to_string()}</p>
        <Pager newer older />
    }
    .into_any()
}

/// The table's rows, as one piece of HTML for the `<tbody>`.
///
/// Why a string and not a view per cell: a page's 25 rows are about 250 elements and
/// 500 attributes, and with erased views (every release build) each of them is boxed,
/// allocated and dispatched on the server for every request; as one string a history
/// page costs about a quarter fewer instructions (docs/benchmarks.md, "Pages under
/// load", session 25). The rows carry no events and no signals, so nothing is lost: hydration
/// keeps the server's rows as they are (tachys does not write `inner_html` again when
/// it hydrates), and a page drawn in the browser writes the same string. Every value
/// from the ledger or the translations is escaped by html-escape; the rest is our own
/// fixed markup.
fn rows_html(locale: Locale, rows: &[HistoryRow], with_code: bool) -> String {
    use html_escape::{encode_double_quoted_attribute_to_string, encode_text_to_string};
    // Opens a cell: its label is what a phone shows beside the value (CSS, `cards-on-phone`).
    let cell = |html: &mut String, class: &str, label: &str| {
        html.push_str("<td role=\"cell\"");
        if !class.is_empty() {
            html.push_str(" class=\"");
            html.push_str(class);
            html.push('"');
        }
        html.push_str(" data-label=\"");
        encode_double_quoted_attribute_to_string(label, html);
        html.push_str("\">");
    };
    let mut html = String::with_capacity(rows.len() * 640);
    for row in rows {
        let credit = !row.amount.is_negative();
        // A Failed row moved no money: its amount is shown struck through and muted,
        // and read as "not charged".
        let void = row.status == Status::Failed;
        let amount_class = match (void, credit) {
            (true, _) => "num amount-void",
            (false, true) => "num amount-credit",
            (false, false) => "num amount-debit",
        };
        html.push_str("<tr role=\"row\">");
        cell(&mut html, "nowrap", td_string!(locale, history.date));
        encode_text_to_string(&row.date, &mut html);
        html.push_str("</td>");
        cell(&mut html, "", td_string!(locale, history.service));
        encode_text_to_string(super::messages::service(locale, row.service), &mut html);
        html.push_str("</td>");
        cell(&mut html, "", td_string!(locale, history.source));
        encode_text_to_string(&row.source, &mut html);
        html.push_str("</td>");
        cell(&mut html, "", td_string!(locale, history.description));
        encode_text_to_string(&row.description, &mut html);
        html.push_str("</td>");
        if with_code {
            cell(&mut html, "", td_string!(locale, history.code));
            encode_text_to_string(row.code.as_deref().unwrap_or_default(), &mut html);
            html.push_str("</td>");
        }
        cell(&mut html, "", td_string!(locale, history.status));
        html.push_str("<span class=\"status status-");
        html.push_str(row.status.as_str());
        html.push_str("\">");
        encode_text_to_string(super::messages::status(locale, row.status), &mut html);
        html.push_str("</span></td>");
        cell(&mut html, amount_class, td_string!(locale, history.amount));
        let amount = row.amount.format_signed();
        if void {
            html.push_str("<s>");
            encode_text_to_string(&amount, &mut html);
            html.push_str("</s><span class=\"visually-hidden\">");
            encode_text_to_string(td_string!(locale, history.not_charged), &mut html);
            html.push_str("</span>");
        } else {
            encode_text_to_string(&amount, &mut html);
        }
        html.push_str("</td></tr>");
    }
    html
}

/// Previous (newer) and Next (older) page links; a missing one is shown disabled.
#[component]
pub fn Pager(newer: Option<String>, older: Option<String>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <nav class="pager" aria-label=td_string!(locale, pages)>
            {match newer {
                Some(h) => view! { <a href=h rel="prev">{td_string!(locale, previous)}</a> }.into_any(),
                None => view! { <span aria-disabled="true">{td_string!(locale, previous)}</span> }.into_any(),
            }}
            {match older {
                Some(h) => view! { <a href=h rel="next">{td_string!(locale, next)}</a> }.into_any(),
                None => view! { <span aria-disabled="true">{td_string!(locale, next)}</span> }.into_any(),
            }}
        </nav>
    }
}

/// Export Excel: a plain link to the file (the browser downloads it), which shows that
/// the file is being prepared and ignores clicks until it has started.
#[island(lazy)]
fn ExportButton(query: String, account: Option<String>) -> impl IntoView {
    super::island(Some("export_button"));
    let locale = use_locale();
    let filter = HistoryFilter::from_query_string(&query);
    let preparing = RwSignal::new(false);
    let token = RwSignal::new(String::new());
    let link = move || {
        let mut pairs = filter.first_page().to_query_string();
        let t = token.get();
        if !t.is_empty() {
            pairs.push(if pairs.is_empty() { '?' } else { '&' });
            pairs.push_str("download=");
            pairs.push_str(&t);
        }
        // An operator's export names the account (the route checks their capability).
        if let Some(id) = &account {
            pairs.push(if pairs.is_empty() { '?' } else { '&' });
            pairs.push_str("account=");
            pairs.push_str(id);
        }
        format!("{PATH}/export{pairs}")
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if preparing.get_untracked() {
            ev.prevent_default();
            return;
        }
        preparing.set(true);
        watch_download(token.get_untracked(), preparing);
    };
    // A fresh token per page view, so an old cookie never ends a new wait.
    Effect::new(move |_| token.set(new_token()));
    view! {
        // `download` makes this a real download the router leaves alone.
        <a
            class="button-primary export"
            href=link
            download=""
            aria-disabled=move || preparing.get().to_string()
            aria-busy=move || preparing.get().to_string()
            on:click=on_click
        >
            {move || {
                if preparing.get() {
                    td_string!(locale, history.preparing)
                } else {
                    td_string!(locale, history.export)
                }
            }}
        </a>
    }
}

/// Polls for the cookie the export sets when the file starts downloading (or gives up
/// after two minutes), then lets the button be used again.
#[cfg(feature = "hydrate")]
fn watch_download(token: String, preparing: RwSignal<bool>) {
    use std::time::Duration;
    use wasm_bindgen::JsCast;
    let wanted = format!("export_done={token}");
    let ticks = StoredValue::new(0_u32);
    let handle = StoredValue::new(None::<IntervalHandle>);
    let check = move || {
        ticks.try_update_value(|t| *t += 1);
        let cookie = document()
            .dyn_into::<web_sys::HtmlDocument>()
            .ok()
            .and_then(|d| d.cookie().ok())
            .unwrap_or_default();
        // 480 ticks of 250 ms: two minutes.
        // The tab may be gone by now (the person navigated away): then just stop.
        let gone = preparing.try_get_untracked().is_none();
        if gone
            || cookie.split("; ").any(|c| c == wanted)
            || ticks.try_get_value().unwrap_or(u32::MAX) > 480
        {
            preparing.try_set(false);
            if let Some(Some(h)) = handle.try_get_value() {
                h.clear();
            }
        }
    };
    if let Ok(h) = set_interval_with_handle(check, Duration::from_millis(250)) {
        handle.set_value(Some(h));
    }
}

#[cfg(not(feature = "hydrate"))]
fn watch_download(_token: String, _preparing: RwSignal<bool>) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ledger::Service;
    use crate::model::money::{Currency, Money};

    fn row(description: &str, status: Status, minor: i64) -> HistoryRow {
        HistoryRow {
            id: 1,
            date: "2026-11-24 11:42:05".to_owned(),
            service: Service::AiInference,
            source: "Credit <main>".to_owned(),
            description: description.to_owned(),
            code: Some("WELCOME&50".to_owned()),
            status,
            amount: Money::from_minor(minor, Currency::Usd),
        }
    }

    #[test]
    fn ledger_text_is_escaped_not_markup() {
        let html = rows_html(
            Locale::en,
            &[row(
                "<img src=x onerror=alert(1)> & \"more\"",
                Status::Success,
                -150,
            )],
            true,
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; \"more\""),
            "{html}"
        );
        assert!(html.contains(">Credit &lt;main&gt;</td>"), "{html}");
        assert!(html.contains(">WELCOME&amp;50</td>"), "{html}");
        assert_eq!(html.matches("<tr role=\"row\">").count(), 1);
        assert_eq!(
            html.matches("<td role=\"cell\"").count(),
            7,
            "the code column is shown"
        );
    }

    #[test]
    fn a_failed_row_is_struck_through_and_read_as_not_charged() {
        let html = rows_html(
            Locale::en,
            &[
                row("Inference", Status::Failed, -150),
                row("Top-up", Status::Success, 500),
            ],
            false,
        );
        assert_eq!(
            html.matches("<td role=\"cell\"").count(),
            12,
            "no code column"
        );
        assert!(html.contains("class=\"num amount-void\""), "{html}");
        assert!(
            html.contains("<s>-$1.50</s><span class=\"visually-hidden\">"),
            "{html}"
        );
        assert!(
            html.contains("class=\"num amount-credit\" data-label=\"Amount\">+$5.00</td>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"status status-failed\">Failed</span>"),
            "{html}"
        );
    }
}
