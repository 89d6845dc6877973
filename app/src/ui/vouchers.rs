//! The customer's vouchers: Apply Code on the Overview, and the Voucher List tab.

use super::browser;
use super::header::FreshBalances;
use super::language::use_locale;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{RedeemVoucher, get_voucher_list};
use crate::i18n::*;
use crate::model::voucher::{VoucherList, VoucherState};
use leptos::prelude::*;
use leptos_meta::Title;

/// "Voucher code" and "Apply Code". On success the header and the Overview show the new
/// balances at once, and the message says how much was added and when it expires.
#[island]
pub fn ApplyVoucher() -> impl IntoView {
    super::island(None);
    let locale = use_locale();
    let fresh = FreshBalances::of_page();
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
                let amount = &done.amount;
                let message = match &done.expires_at {
                    Some(at) => td_string!(locale, vouchers.added_expires, amount, at).to_string(),
                    None => td_string!(locale, vouchers.added_forever, amount).to_string(),
                };
                outcome.set(Some(Ok(message)));
            }
            Err(e) => {
                outcome.set(Some(Err(super::messages::error(locale, &e))));
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
        <super::Controls>
            <section aria-labelledby="voucher-heading" class="voucher-apply">
                <h2 id="voucher-heading">{td_string!(locale, vouchers.add_heading)}</h2>
                <form class="inline-form" novalidate on:submit=submit>
                    <div class="field">
                        <label for="voucher-code">{td_string!(locale, vouchers.code)}</label>
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
                        {td_string!(locale, vouchers.apply)}
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
        </super::Controls>
    }
}

/// The Voucher List tab: every voucher the account redeemed.
#[component]
pub fn VoucherListPage() -> impl IntoView {
    let locale = use_locale();
    let list = page_resource(|| Resource::new(|| (), |_| get_voucher_list()));
    view! {
        <Title text=td_string!(locale, vouchers.title) />
        <section aria-labelledby="vouchers-heading">
            <h2 id="vouchers-heading">{td_string!(locale, vouchers.title)}</h2>
            <Transition fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
                {move || suspend(async move {
                    match list.await {
                        Ok(list) if list.rows.is_empty() => view! {
                            <p class="empty">
                                {td_string!(locale, vouchers.none_before)} " "
                                <a href="/billing">{td_string!(locale, vouchers.none_link)}</a> " "
                                {td_string!(locale, vouchers.none_after)}
                            </p>
                        }
                            .into_any(),
                        Ok(list) => view! { <VoucherTable list /> }.into_any(),
                        Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn VoucherTable(list: VoucherList) -> impl IntoView {
    let locale = use_locale();
    let [
        code,
        voucher,
        state,
        granted,
        used,
        expired,
        remaining,
        redeemed,
        expires,
    ] = [
        td_string!(locale, vouchers.code_column),
        td_string!(locale, vouchers.voucher),
        td_string!(locale, vouchers.state),
        td_string!(locale, vouchers.granted),
        td_string!(locale, vouchers.used),
        td_string!(locale, vouchers.expired),
        td_string!(locale, vouchers.remaining),
        td_string!(locale, vouchers.redeemed),
        td_string!(locale, vouchers.expires),
    ];
    view! {
        // Explicit roles: on a phone the rows are laid out as cards (CSS), and the roles
        // keep them a table for screen readers.
        <table aria-label=td_string!(locale, vouchers.table) role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">{code}</th>
                    <th scope="col" role="columnheader">{voucher}</th>
                    <th scope="col" role="columnheader">{state}</th>
                    <th scope="col" role="columnheader" class="num">{granted}</th>
                    <th scope="col" role="columnheader" class="num">{used}</th>
                    <th scope="col" role="columnheader" class="num">{expired}</th>
                    <th scope="col" role="columnheader" class="num">{remaining}</th>
                    <th scope="col" role="columnheader">{redeemed}</th>
                    <th scope="col" role="columnheader">{expires}</th>
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
                                <td role="cell" data-label=code class="code">{row.code}</td>
                                <td role="cell" data-label=voucher>
                                    <strong>{row.campaign}</strong>
                                    {(!row.description.is_empty())
                                        .then(|| view! { <span class="muted small block">{row.description}</span> })}
                                </td>
                                <td role="cell" data-label=state>
                                    <span class=state_class>
                                        {match row.state {
                                            VoucherState::Active => td_string!(locale, vouchers.active),
                                            VoucherState::UsedUp => td_string!(locale, vouchers.used_up),
                                            VoucherState::Expired => td_string!(locale, vouchers.state_expired),
                                        }}
                                    </span>
                                </td>
                                <td role="cell" data-label=granted class="num">{row.granted.to_string()}</td>
                                <td role="cell" data-label=used class="num">{row.used.to_string()}</td>
                                <td role="cell" data-label=expired class="num">{row.expired.to_string()}</td>
                                <td role="cell" data-label=remaining class="num">{row.remaining.to_string()}</td>
                                <td role="cell" data-label=redeemed class="nowrap">{row.redeemed_at}</td>
                                <td role="cell" data-label=expires class="nowrap">
                                    {row.expires_at.unwrap_or_else(|| td_string!(locale, vouchers.never).to_owned())}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
            <tfoot role="rowgroup">
                <tr role="row" class="totals">
                    <th scope="row" role="rowheader" colspan="3">{td_string!(locale, vouchers.total)}</th>
                    <td role="cell" data-label=granted class="num">{list.granted.to_string()}</td>
                    <td role="cell" data-label=used class="num">{list.used.to_string()}</td>
                    <td role="cell" data-label=expired class="num">{list.expired.to_string()}</td>
                    <td role="cell" data-label=remaining class="num">{list.remaining.to_string()}</td>
                    <td role="cell" colspan="2"></td>
                </tr>
            </tfoot>
        </table>
    }
}
