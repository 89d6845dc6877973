//! The customer's vouchers: Apply Code on the Overview, and the Voucher List tab.

use super::browser;
use super::header::FreshBalances;
use crate::api::{RedeemVoucher, get_voucher_list};
use crate::model::voucher::{VoucherList, VoucherState};
use leptos::prelude::*;
use leptos_meta::Title;

/// "Voucher code" and "Apply Code". On success the header and the Overview show the new
/// balances at once, and the message says how much was added and when it expires.
#[component]
pub fn ApplyVoucher() -> impl IntoView {
    let fresh = expect_context::<FreshBalances>();
    let apply = ServerAction::<RedeemVoucher>::new();
    let code = RwSignal::new(String::new());
    // One token per attempt: a double click (or a retry) is granted once. A new one
    // after every answer, so the next code is a new attempt.
    let token = StoredValue::new(browser::new_token());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        let Some(answer) = apply.value().get() else {
            return;
        };
        token.set_value(browser::new_token());
        match answer {
            Ok(done) => {
                fresh.0.set(Some(done.balances));
                code.set(String::new());
                outcome.set(Some(Ok(done.message())));
            }
            Err(e) => {
                outcome.set(Some(Err(e.to_string())));
                browser::focus_id("voucher-code");
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if apply.pending().get_untracked() {
            return;
        }
        outcome.set(None);
        apply.dispatch(RedeemVoucher {
            code: code.get_untracked(),
            token: token.get_value(),
        });
    };
    let failed = move || matches!(outcome.get(), Some(Err(_)));
    view! {
        <section aria-labelledby="voucher-heading" class="voucher-apply">
            <h2 id="voucher-heading">"Add Voucher"</h2>
            <form class="inline-form" novalidate on:submit=submit>
                <div class="field">
                    <label for="voucher-code">"Voucher code"</label>
                    <input
                        id="voucher-code"
                        name="code"
                        type="text"
                        autocomplete="off"
                        autocapitalize="characters"
                        spellcheck="false"
                        maxlength="64"
                        aria-describedby="voucher-outcome"
                        aria-invalid=move || failed().to_string()
                        prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev))
                    />
                </div>
                <button
                    type="submit"
                    class="button-primary"
                    aria-busy=move || apply.pending().get().to_string()
                    disabled=move || apply.pending().get()
                >
                    "Apply Code"
                </button>
            </form>
            <p
                id="voucher-outcome"
                role="status"
                class=move || if failed() { "field-error" } else { "form-success" }
            >
                {move || outcome.get().map(|o| o.unwrap_or_else(|e| e))}
            </p>
        </section>
    }
}

/// The Voucher List tab: every voucher the account redeemed.
#[component]
pub fn VoucherListPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| get_voucher_list());
    view! {
        <Title text="Voucher List" />
        <section aria-labelledby="vouchers-heading">
            <h2 id="vouchers-heading">"Voucher List"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.rows.is_empty() => view! {
                            <p class="empty">
                                "You have not redeemed any vouchers yet. Enter a voucher code under Add Voucher on the "
                                <a href="/billing">"Overview"</a> " and choose Apply Code."
                            </p>
                        }
                            .into_any(),
                        Ok(list) => view! { <VoucherTable list /> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn VoucherTable(list: VoucherList) -> impl IntoView {
    view! {
        // Explicit roles: on a phone the rows are laid out as cards (CSS), and the roles
        // keep them a table for screen readers.
        <table aria-label="Vouchers" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Code"</th>
                    <th scope="col" role="columnheader">"Voucher"</th>
                    <th scope="col" role="columnheader">"State"</th>
                    <th scope="col" role="columnheader" class="num">"Granted"</th>
                    <th scope="col" role="columnheader" class="num">"Used"</th>
                    <th scope="col" role="columnheader" class="num">"Expired"</th>
                    <th scope="col" role="columnheader" class="num">"Remaining"</th>
                    <th scope="col" role="columnheader">"Redeemed"</th>
                    <th scope="col" role="columnheader">"Expires"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {list
                    .rows
                    .into_iter()
                    .map(|row| {
                        let state_class = match row.state {
                            VoucherState::Active => "status status-success",
                            VoucherState::UsedUp => "status status-processed",
                            VoucherState::Expired => "status status-failed",
                        };
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="Code" class="code">{row.code}</td>
                                <td role="cell" data-label="Voucher">
                                    <strong>{row.campaign}</strong>
                                    {(!row.description.is_empty())
                                        .then(|| view! { <span class="muted small block">{row.description}</span> })}
                                </td>
                                <td role="cell" data-label="State">
                                    <span class=state_class>{row.state.label()}</span>
                                </td>
                                <td role="cell" data-label="Granted" class="num">{row.granted.to_string()}</td>
                                <td role="cell" data-label="Used" class="num">{row.used.to_string()}</td>
                                <td role="cell" data-label="Expired" class="num">{row.expired.to_string()}</td>
                                <td role="cell" data-label="Remaining" class="num">{row.remaining.to_string()}</td>
                                <td role="cell" data-label="Redeemed" class="nowrap">{row.redeemed_at}</td>
                                <td role="cell" data-label="Expires" class="nowrap">
                                    {row.expires_at.unwrap_or_else(|| "Never".to_owned())}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
            <tfoot role="rowgroup">
                <tr role="row" class="totals">
                    <th scope="row" role="rowheader" colspan="3">"Total"</th>
                    <td role="cell" data-label="Granted" class="num">{list.granted.to_string()}</td>
                    <td role="cell" data-label="Used" class="num">{list.used.to_string()}</td>
                    <td role="cell" data-label="Expired" class="num">{list.expired.to_string()}</td>
                    <td role="cell" data-label="Remaining" class="num">{list.remaining.to_string()}</td>
                    <td role="cell" colspan="2"></td>
                </tr>
            </tfoot>
        </table>
    }
}
