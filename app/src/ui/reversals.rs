//! Reversals in the console: an account's reversals with what each took back and what
//! is still owed, the form that opens one on a charged-back top-up, and the approval
//! buttons (on the account's page and in Approvals).

use crate::api::{DecideReversal, OpenReversal};
use crate::model::operator::{ReversalStatus, ReversalView};
use leptos::prelude::*;

/// Reversals with their figures and, for an approver, Approve / Reject.
#[component]
pub fn ReversalTable(
    list: Vec<ReversalView>,
    decide: ServerAction<DecideReversal>,
    with_account: bool,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No reversals."</p> }.into_any();
    }
    view! {
        <table aria-label="Reversals" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Top-up"</th>
                    {with_account.then(|| view! { <th scope="col" role="columnheader">"Account"</th> })}
                    <th scope="col" role="columnheader">"Why"</th>
                    <th scope="col" role="columnheader" class="num">"Taken back"</th>
                    <th scope="col" role="columnheader" class="num">"Owed"</th>
                    <th scope="col" role="columnheader">"Status"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {list
                    .into_iter()
                    .map(|r| view! { <ReversalRow r decide with_account /> })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn ReversalRow(
    r: ReversalView,
    decide: ServerAction<DecideReversal>,
    with_account: bool,
) -> impl IntoView {
    let id = r.id;
    let status_class = match r.status {
        ReversalStatus::Applied => "status status-failed",
        ReversalStatus::Pending => "status status-processed",
        _ => "status status-success",
    };
    let account = with_account.then(|| {
        view! {
            <td role="cell" data-label="Account">
                <a href=format!("/ops/accounts/{}", r.account_id)>{r.account_email.clone()}</a>
            </td>
        }
        .into_any()
    });
    let buttons = r.can_decide.then(|| {
        let press = move |approve: bool| {
            decide.dispatch(DecideReversal {
                id,
                approve,
                note: String::new(),
            });
        };
        view! {
            <div class="decision">
                <button
                    type="button"
                    class="button-primary"
                    aria-label=format!("Approve reversal {id}")
                    disabled=move || decide.pending().get()
                    on:click=move |_| press(true)
                >
                    "Approve"
                </button>
                <button
                    type="button"
                    class="button-quiet"
                    aria-label=format!("Reject reversal {id}")
                    disabled=move || decide.pending().get()
                    on:click=move |_| press(false)
                >
                    "Reject"
                </button>
            </div>
        }
        .into_any()
    });
    let owed = if r.owed_left == r.owed {
        r.owed.to_string()
    } else {
        format!("{} ({} still owed)", r.owed, r.owed_left)
    };
    view! {
        <tr role="row">
            <td role="cell" data-label="Top-up">
                {format!("#{id} · {}", r.payment_reference)}
                <span class="muted small block">{format!("{} · opened by {} · {}", r.amount, r.opened_by, r.requested_at)}</span>
            </td>
            {account}
            <td role="cell" data-label="Why">{r.reason.clone()}</td>
            <td role="cell" data-label="Taken back" class="num">{r.taken.to_string()}</td>
            <td role="cell" data-label="Owed" class="num">{owed}</td>
            <td role="cell" data-label="Status">
                <span class=status_class>{r.status.label()}</span>
                {r.decided_by.clone().map(|by| view! { <span class="muted small block">{format!("by {by}")}</span> })}
                {buttons}
            </td>
        </tr>
    }
}

/// A refused reversal decision, if the last one was.
#[component]
pub fn ReversalDecisionError(decide: ServerAction<DecideReversal>) -> impl IntoView {
    move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    }
}

/// Opens a reversal on one of the account's credited top-ups.
#[component]
pub fn OpenReversalForm(account_id: String, open: ServerAction<OpenReversal>) -> impl IntoView {
    let reference = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let account_id = StoredValue::new(account_id);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if open.pending().get_untracked() {
            return;
        }
        open.dispatch(OpenReversal {
            account_id: account_id.get_value(),
            reference: reference.get_untracked(),
            reason: reason.get_untracked(),
        });
    };
    let outcome = move || {
        match open.value().get() {
        Some(Ok(())) => Some(view! {
            <p class="form-success" role="status">"Reversal requested: another operator approves it."</p>
        }
        .into_any()),
        Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()),
        None => None,
    }
    };
    view! {
        <form class="adjust-form" on:submit=submit aria-labelledby="reverse-heading">
            <h4 id="reverse-heading">"Reverse a charged-back top-up"</h4>
            {outcome}
            <div class="field">
                <label for="reverse-reference">"Payment reference"</label>
                <input
                    id="reverse-reference"
                    type="text"
                    prop:value=move || reference.get()
                    on:input=move |ev| reference.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for="reverse-reason">"Why (the dispute, the bank's notice)"</label>
                <input
                    id="reverse-reason"
                    type="text"
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))
                />
            </div>
            <button type="submit" class="button-primary" disabled=move || open.pending().get()>
                "Request reversal"
            </button>
        </form>
    }
}
