//! The console's Audit log: every recorded action, newest first, filtered by action,
//! actor or account; and one account's trail on its page.

use super::accounts::account_id;
use super::ops::Requires;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{audit_actions, audit_log};
use crate::model::operator::{AuditFilter, AuditPage, Capability};
use leptos::prelude::*;
use leptos_meta::Title;

/// The whole log, with filters.
#[component]
pub fn AuditLog() -> impl IntoView {
    view! {
        <Requires capability=Capability::ViewAccounts>
            <Title text="Audit log" />
            <Log account=None />
        </Requires>
    }
}

/// One account's trail (on the account's page).
#[component]
pub fn AccountAudit() -> impl IntoView {
    view! {
        <Title text="Audit log" />
        <Log account=Some(account_id()) />
    }
}

/// The log or trail with its filters, read again as they change.
#[island(lazy)]
fn Log(account: Option<String>) -> impl IntoView {
    super::island(Some("log"));
    let filter = RwSignal::new(AuditFilter {
        account_id: account.clone().unwrap_or_default(),
        ..Default::default()
    });
    let page = page_resource(|| Resource::new(move || filter.get(), audit_log));
    let actions = page_resource(|| Resource::new(|| (), |_| audit_actions()));
    let whole_log = account.is_none();
    view! {
        <super::Controls>
            <section aria-labelledby="audit-heading" class="history">
                <h2 id="audit-heading">{if whole_log { "Audit log" } else { "Audit trail" }}</h2>
                <form class="filters" aria-label="Filters" on:submit=|ev| ev.prevent_default()>
                    <div class="filter">
                        <label for="audit-action">"Action"</label>
                        <select
                            id="audit-action"
                            on:change=move |ev| {
                                let action = event_target_value(&ev);
                                filter.update(|f| {
                                    f.action = action;
                                    f.before = None;
                                });
                            }
                        >
                            <option value="">"All actions"</option>
                            <Transition>
                                {move || suspend(async move {
                                    actions
                                        .await
                                        .unwrap_or_default()
                                        .into_iter()
                                        .map(|a| view! { <option value=a.clone()>{a.clone()}</option> })
                                        .collect_view()
                                })}
                            </Transition>
                        </select>
                    </div>
                    <div class="filter">
                        <label for="audit-actor">"Actor contains"</label>
                        <input
                            id="audit-actor"
                            type="search"
                            on:change=move |ev| {
                                let actor = event_target_value(&ev);
                                filter.update(|f| {
                                    f.actor = actor;
                                    f.before = None;
                                });
                            }
                        />
                    </div>
                    {whole_log
                        .then(|| {
                            view! {
                                <div class="filter">
                                    <label for="audit-account">"Account id"</label>
                                    <input
                                        id="audit-account"
                                        type="search"
                                        on:change=move |ev| {
                                            let id = event_target_value(&ev);
                                            filter.update(|f| {
                                                f.account_id = id;
                                                f.before = None;
                                            });
                                        }
                                    />
                                </div>
                            }
                        })}
                </form>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || suspend(async move {
                        match page.await {
                            Ok(p) => view! { <Entries page=p filter /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </super::Controls>
    }
}

#[component]
fn Entries(page: AuditPage, filter: RwSignal<AuditFilter>) -> impl IntoView {
    if page.lines.is_empty() {
        return view! { <p class="empty">"No entries."</p> }.into_any();
    }
    let next = page.next_before;
    let newest = filter.with_untracked(|f| f.before.is_none());
    view! {
        <table aria-label="Audit log entries" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"When"</th>
                    <th scope="col" role="columnheader">"Who"</th>
                    <th scope="col" role="columnheader">"Action"</th>
                    <th scope="col" role="columnheader">"Subject"</th>
                    <th scope="col" role="columnheader">"Before → after"</th>
                    <th scope="col" role="columnheader">"Reason"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {page
                    .lines
                    .into_iter()
                    .map(|l| {
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="When" class="nowrap">
                                    {l.at}
                                    <span class="muted small block">{format!("#{}", l.id)}</span>
                                </td>
                                <td role="cell" data-label="Who">{l.actor}</td>
                                <td role="cell" data-label="Action" class="code">{l.action}</td>
                                <td role="cell" data-label="Subject">
                                    {match l.account_id {
                                        Some(id) => view! {
                                            <a href=format!("/ops/accounts/{id}")>{l.subject}</a>
                                        }
                                            .into_any(),
                                        None => l.subject.into_any(),
                                    }}
                                </td>
                                <td role="cell" data-label="Before → after" class="change">
                                    <code>{l.before}</code>
                                    " → "
                                    <code>{l.after}</code>
                                </td>
                                <td role="cell" data-label="Reason">{l.reason}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages">
            {if newest {
                view! { <span aria-disabled="true">"Newest"</span> }.into_any()
            } else {
                view! {
                    <button type="button" class="button-quiet" on:click=move |_| filter.update(|f| f.before = None)>
                        "Newest"
                    </button>
                }
                    .into_any()
            }}
            {match next {
                Some(before) => view! {
                    <button
                        type="button"
                        class="button-quiet"
                        on:click=move |_| filter.update(|f| f.before = Some(before))
                    >
                        "Older"
                    </button>
                }
                    .into_any(),
                None => view! { <span aria-disabled="true">"Older"</span> }.into_any(),
            }}
        </nav>
    }
    .into_any()
}
