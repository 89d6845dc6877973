//! The console's Accounts section: the lookup (`/ops`), and one account's pages
//! (`/ops/accounts/:id`): Overview (profile, plan, balances, voucher grants, its
//! adjustments and the adjustment form), Credit History and Payment History (the
//! customer's own tabs, read for this account), and its audit trail.

use super::browser;
use super::history::AccountScope;
use super::ops::{Choice, Field, Requires, held};
use super::page_resource::page_resource;
use super::reversals::{OpenReversalForm, ReversalDecisionError, ReversalTable};
use super::suspend::suspend;
use crate::api::{
    DecideAdjustment, DecideReversal, OpenReversal, SubmitAdjustment, get_account_view,
    search_accounts,
};
use crate::model::billing::FieldError;
use crate::model::error::AppError;
use crate::model::operator::{
    AccountView, AdjustmentForm, AdjustmentStatus, AdjustmentView, Capability, Decision,
    LookupResult, ReasonCode,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

/// The lookup: one box, every key.
#[component]
pub fn Lookup() -> impl IntoView {
    view! {
        <Requires capability=Capability::ViewAccounts>
            <LookupPage />
        </Requires>
    }
}

#[component]
fn LookupPage() -> impl IntoView {
    let query = use_query_map();
    let asked = move || query.with(|q| q.get("q").unwrap_or_default());
    let found = page_resource(|| {
        Resource::new(asked, |q| async move {
            if q.trim().is_empty() {
                None
            } else {
                Some(search_accounts(q).await)
            }
        })
    });
    view! {
        <Title text="Accounts" />
        <section aria-labelledby="lookup-heading">
            <h2 id="lookup-heading">"Find an account"</h2>
            // A plain form: the search is the page's query, drawn by the server.
            <form class="lookup" role="search" method="get" action=super::ops::HOME>
                <label for="lookup-query">
                    "Email, account id, payment reference, gateway reference, voucher code or tax code"
                </label>
                <div class="lookup-row">
                    <input
                        id="lookup-query"
                        name="q"
                        type="search"
                        autocomplete="off"
                        value=asked()
                    />
                    <button type="submit" class="button-primary">"Search"</button>
                </div>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                {move || suspend(async move {
                    match found.await {
                        None => ().into_any(),
                        Some(Ok(result)) => view! { <Hits result /> }.into_any(),
                        Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Hits(result: LookupResult) -> impl IntoView {
    if result.hits.is_empty() {
        return view! { <p class="empty">"No account has this key. Keys match exactly."</p> }
            .into_any();
    }
    view! {
        <table aria-label="Accounts found" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Account"</th>
                    <th scope="col" role="columnheader">"Billing name"</th>
                    <th scope="col" role="columnheader">"Country"</th>
                    <th scope="col" role="columnheader" class="num">"Balance"</th>
                    <th scope="col" role="columnheader">"Matched by"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {result
                    .hits
                    .into_iter()
                    .map(|hit| {
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="Account">
                                    <a href=format!("/ops/accounts/{}", hit.account_id)>{hit.email}</a>
                                    <span class="muted small block code">{hit.account_id.clone()}</span>
                                </td>
                                <td role="cell" data-label="Billing name">
                                    {hit.billing_name.unwrap_or_else(|| "—".into())}
                                </td>
                                <td role="cell" data-label="Country">{hit.country.unwrap_or_else(|| "—".into())}</td>
                                <td role="cell" data-label="Balance" class="num">{hit.balance.to_string()}</td>
                                <td role="cell" data-label="Matched by">{hit.matched.label()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        {result.more.then(|| view! { <p class="muted">"More accounts match; the first 50 are shown."</p> })}
    }
    .into_any()
}

/// One account: its tabs around the section chosen.
#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Requires capability=Capability::ViewAccounts>
            <AccountTabs />
        </Requires>
    }
}

#[component]
fn AccountTabs() -> impl IntoView {
    let params = use_params_map();
    let id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    // The histories read this: the customer's own tabs, for this account.
    provide_context(AccountScope(id.clone()));
    let path = use_location().pathname;
    let base = format!("/ops/accounts/{id}");
    let tab = move |suffix: &'static str, label: &'static str| {
        let href = format!("{base}{suffix}");
        let here = href.clone();
        view! {
            <a href=href aria-current=move || (path.get() == here).then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <nav class="tabs subtabs" aria-label="Account sections">
            {tab("", "Overview")}
            {tab("/history", "Credit History")}
            {tab("/payments", "Payment History")}
            {tab("/audit", "Audit trail")}
        </nav>
        <Outlet />
    }
}

/// The account's id, from the address.
pub fn account_id() -> String {
    use_params_map().with_untracked(|p| p.get("id").unwrap_or_default())
}

/// Profile, plan, balances, voucher grants, adjustments, and the adjustment form.
#[component]
pub fn AccountOverview() -> impl IntoView {
    let id = account_id();
    let may_adjust = held().contains(&Capability::AdjustCredits);
    view! {
        <Title text="Account" />
        <AccountLive id may_adjust />
    }
}

/// The account's overview, read again after each decision or submission.
#[island(lazy)]
fn AccountLive(id: String, may_adjust: bool) -> impl IntoView {
    super::island(Some("account_live"));
    let view = page_resource(|| Resource::new(move || id.clone(), get_account_view));
    let decide = ServerAction::<DecideAdjustment>::new();
    let decide_reversal = ServerAction::<DecideReversal>::new();
    let open_reversal = ServerAction::<OpenReversal>::new();
    Effect::new(move |_| {
        let decided = decide.value().get().is_some();
        let reversed = decide_reversal.value().get().is_some();
        let opened = open_reversal.value().get().is_some();
        if decided || reversed || opened {
            view.refetch();
        }
    });
    // Outside the resource: the page reads the account again after a submission, and
    // the message must outlive that.
    let done = RwSignal::new(None::<String>);
    view! {
        <super::Controls>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || suspend(async move {
                    match view.await {
                        Ok(account) => {
                            view! {
                                <Overview account=account.clone() />
                                <section aria-labelledby="adjustments-heading">
                                    <h3 id="adjustments-heading">"Adjustments"</h3>
                                    <DecisionError decide />
                                    <AdjustmentTable list=account.adjustments.clone() decide with_account=false />
                                </section>
                                {may_adjust
                                    .then(|| {
                                        view! { <AdjustForm account=account.clone() done on_done=move || view.refetch() /> }
                                    })}
                                <section aria-labelledby="reversals-heading">
                                    <h3 id="reversals-heading">"Reversals of charged-back top-ups"</h3>
                                    {(account.owed.to_minor() != Some(0))
                                        .then(|| {
                                            view! {
                                                <p class="notice notice-warning">
                                                    {format!("The account owes {} for charge-backs: it is settled from its next top-ups.", account.owed)}
                                                </p>
                                            }
                                        })}
                                    <ReversalDecisionError decide=decide_reversal />
                                    <ReversalTable list=account.reversals.clone() decide=decide_reversal with_account=false />
                                    {may_adjust
                                        .then(|| {
                                            view! { <OpenReversalForm account_id=account.account_id.clone() open=open_reversal /> }
                                        })}
                                </section>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </super::Controls>
    }
}

#[component]
fn Overview(account: AccountView) -> impl IntoView {
    let profile = match account.billing {
        Some(lines) => view! {
            <dl class="facts">
                {lines
                    .into_iter()
                    .map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> })
                    .collect_view()}
            </dl>
        }
        .into_any(),
        None => view! { <p class="muted">"No billing details saved yet."</p> }.into_any(),
    };
    view! {
        <section aria-labelledby="account-heading" class="account-summary">
            <h2 id="account-heading">{account.email.clone()}</h2>
            <dl class="facts">
                <div>
                    <dt>"Account id"</dt>
                    <dd class="code">{account.account_id.clone()}</dd>
                </div>
                <div>
                    <dt>"Currency"</dt>
                    <dd>{account.currency.code()}</dd>
                </div>
                <div>
                    <dt>"Opened"</dt>
                    <dd>{account.opened.clone()}</dd>
                </div>
                <div>
                    <dt>"Time zone"</dt>
                    <dd>{account.time_zone.clone()}</dd>
                </div>
                <div>
                    <dt>"Plan"</dt>
                    <dd>{account.plan.clone()}</dd>
                </div>
            </dl>
            <h3>"Balances"</h3>
            <dl class="facts">
                <div>
                    <dt>"Top-up credits"</dt>
                    <dd>{account.balances.top_up.to_string()}</dd>
                </div>
                <div>
                    <dt>"Voucher credits"</dt>
                    <dd>{account.balances.voucher.to_string()}</dd>
                </div>
                <div>
                    <dt>"Total"</dt>
                    <dd>{account.balances.total().to_string()}</dd>
                </div>
            </dl>
            <h3>"Billing details"</h3>
            {profile}
        </section>
        <section aria-labelledby="grants-heading">
            <h3 id="grants-heading">"Voucher grants"</h3>
            {if account.grants.is_empty() {
                view! { <p class="empty">"No voucher credits granted."</p> }.into_any()
            } else {
                view! {
                    <table aria-label="Voucher grants" role="table" class="cards-on-phone">
                        <thead role="rowgroup">
                            <tr role="row">
                                <th scope="col" role="columnheader">"Code"</th>
                                <th scope="col" role="columnheader">"Granted"</th>
                                <th scope="col" role="columnheader" class="num">"Amount"</th>
                                <th scope="col" role="columnheader" class="num">"Remaining"</th>
                                <th scope="col" role="columnheader">"Expires"</th>
                            </tr>
                        </thead>
                        <tbody role="rowgroup">
                            {account
                                .grants
                                .into_iter()
                                .map(|g| {
                                    view! {
                                        <tr role="row">
                                            <td role="cell" data-label="Code" class="code">{g.code}</td>
                                            <td role="cell" data-label="Granted">{g.granted_at}</td>
                                            <td role="cell" data-label="Amount" class="num">{g.granted.to_string()}</td>
                                            <td role="cell" data-label="Remaining" class="num">{g.remaining.to_string()}</td>
                                            <td role="cell" data-label="Expires">{g.expires}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}

/// A refused decision, if the last one was.
#[component]
pub fn DecisionError(decide: ServerAction<DecideAdjustment>) -> impl IntoView {
    move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
    }
}

/// Adjustments with their state, and the decisions the viewer may take on each.
#[component]
pub fn AdjustmentTable(
    list: Vec<AdjustmentView>,
    decide: ServerAction<DecideAdjustment>,
    with_account: bool,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"No adjustments."</p> }.into_any();
    }
    view! {
        <table aria-label="Adjustments" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Requested"</th>
                    {with_account.then(|| view! { <th scope="col" role="columnheader">"Account"</th> })}
                    <th scope="col" role="columnheader" class="num">"Amount"</th>
                    <th scope="col" role="columnheader">"Reason"</th>
                    <th scope="col" role="columnheader">"Customer reads"</th>
                    <th scope="col" role="columnheader">"Status"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {list
                    .into_iter()
                    .map(|a| view! { <AdjustmentRow a decide with_account /> })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AdjustmentRow(
    a: AdjustmentView,
    decide: ServerAction<DecideAdjustment>,
    with_account: bool,
) -> impl IntoView {
    let id = a.id;
    let status_class = match a.status {
        AdjustmentStatus::Applied => "status status-success",
        AdjustmentStatus::Pending => "status status-processed",
        _ => "status status-failed",
    };
    let decided = a.decided_by.clone().map(|by| {
        let note = if a.decision_note.is_empty() {
            String::new()
        } else {
            format!(": “{}”", a.decision_note)
        };
        format!(
            "by {by}, {}{note}",
            a.decided_at.clone().unwrap_or_default()
        )
    });
    let account = with_account.then(|| {
        view! {
            <td role="cell" data-label="Account">
                <a href=format!("/ops/accounts/{}", a.account_id)>{a.account_email.clone()}</a>
            </td>
        }
        .into_any()
    });
    let decisions = (a.can_decide || a.can_withdraw).then(|| {
        view! { <Decisions id can_decide=a.can_decide can_withdraw=a.can_withdraw decide /> }
            .into_any()
    });
    view! {
        <tr role="row">
            <td role="cell" data-label="Requested">
                {format!("#{id} · {}", a.requested_at)}
                <span class="muted small block">{format!("by {}", a.requested_by)}</span>
            </td>
            {account}
            <td role="cell" data-label="Amount" class="num">
                {a.amount.format_signed()}
                <span class="muted small block">{a.bucket.label()}</span>
            </td>
            <td role="cell" data-label="Reason">
                <strong>{a.reason.label()}</strong>
                <span class="small block">{a.comment.clone()}</span>
            </td>
            <td role="cell" data-label="Customer reads">{a.description.clone()}</td>
            <td role="cell" data-label="Status">
                <span class=status_class>{a.status.label()}</span>
                {a.expires_at.clone().map(|e| view! { <span class="muted small block">{format!("expires {e}")}</span> })}
                {decided.map(|d| view! { <span class="muted small block">{d}</span> })}
                {decisions}
            </td>
        </tr>
    }
}

/// A note and the buttons the viewer may press on one request.
#[component]
fn Decisions(
    id: i64,
    can_decide: bool,
    can_withdraw: bool,
    decide: ServerAction<DecideAdjustment>,
) -> impl IntoView {
    let what = format!("adjustment {id}");
    let note = RwSignal::new(String::new());
    let act = move |decision: Decision| {
        decide.dispatch(DecideAdjustment {
            id,
            decision,
            note: note.get_untracked(),
        });
    };
    let button = move |decision: Decision, label: &'static str, class: &'static str| {
        view! {
            <button
                type="button"
                class=class
                aria-label=format!("{label} adjustment {id}")
                disabled=move || decide.pending().get()
                on:click=move |_| act(decision)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="decision">
            <label class="visually-hidden" for=format!("note-{id}")>
                {format!("Note on {what}")}
            </label>
            <input
                id=format!("note-{id}")
                type="text"
                placeholder="Note (optional)"
                on:input=move |ev| note.set(event_target_value(&ev))
            />
            {can_decide.then(|| button(Decision::Approve, "Approve", "button-primary"))}
            {can_decide.then(|| button(Decision::Reject, "Reject", "button-quiet"))}
            {can_withdraw.then(|| button(Decision::Withdraw, "Withdraw", "button-quiet"))}
        </div>
    }
}

/// Credit or debit one bucket, with a reason; at or above the threshold it waits for a
/// second operator.
#[component]
fn AdjustForm(
    account: AccountView,
    done: RwSignal<Option<String>>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let fresh = {
        let id = account.account_id.clone();
        move || AdjustmentForm {
            account_id: id.clone(),
            bucket: "top_up".into(),
            direction: "credit".into(),
            reason: ReasonCode::Goodwill.as_str().into(),
            token: browser::new_token(),
            ..Default::default()
        }
    };
    let form = RwSignal::new(fresh());
    // The browser's token for this form (the server render has none).
    Effect::new(move |_| form.update(|f| f.token = browser::new_token()));
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let submit = ServerAction::<SubmitAdjustment>::new();
    let currency = account.currency;
    let fresh = StoredValue::new(fresh);
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(outcome)) => {
            errors.set(Vec::new());
            let a = outcome.adjustment;
            let what = format!(
                "{} {}",
                a.amount.format_signed(),
                a.bucket.label().to_lowercase()
            );
            done.set(Some(match a.status {
                AdjustmentStatus::Pending => format!(
                    "Requested: {what}. It waits for another operator's approval until {}.",
                    a.expires_at.unwrap_or_default()
                ),
                _ => format!("Applied: {what}. The customer sees it in Credit History."),
            }));
            form.set(fresh.with_value(|f| f()));
            form.update(|f| f.token = browser::new_token());
            on_done();
            browser::focus_id("adjust-done");
        }
        Some(Err(AppError::Fields(list))) => errors.set(list),
        Some(Err(AppError::Invalid { field, problem })) => {
            errors.set(vec![FieldError { field, problem }]);
        }
        Some(Err(e)) => errors.set(vec![FieldError::text("form", e.to_string())]),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if submit.pending().get_untracked() {
            return;
        }
        let typed = form.get_untracked();
        match typed.validate(currency) {
            Err(list) => {
                errors.set(list);
                browser::focus_id("adjust-form-error");
            }
            Ok(_) => {
                errors.set(Vec::new());
                done.set(None);
                submit.dispatch(SubmitAdjustment { form: typed });
            }
        }
    };
    let form_message = super::billing_form::form_message(errors);
    view! {
        <section aria-labelledby="adjust-heading" class="panel">
            <h3 id="adjust-heading">"Adjust credits"</h3>
            <p class="muted">
                {format!(
                    "Adjustments of {} or more wait for another operator's approval (7 days).",
                    account.approval_threshold,
                )}
            </p>
            {move || done.get().map(|m| view! { <p class="form-success-box" role="status" id="adjust-done" tabindex="-1">{m}</p> })}
            <form class="adjust-form" novalidate on:submit=on_submit>
                <super::billing_form::FormProblem message=form_message id="adjust-form-error" />
                <fieldset>
                    <legend>"Balance"</legend>
                    <Choice form field="bucket" value="top_up" label="Top-up credits" get=|f: &mut AdjustmentForm| &mut f.bucket />
                    <Choice form field="bucket" value="voucher" label="Voucher credits" get=|f: &mut AdjustmentForm| &mut f.bucket />
                </fieldset>
                <fieldset>
                    <legend>"Direction"</legend>
                    <Choice form field="direction" value="credit" label="Credit (add)" get=|f: &mut AdjustmentForm| &mut f.direction />
                    <Choice form field="direction" value="debit" label="Debit (take away)" get=|f: &mut AdjustmentForm| &mut f.direction />
                </fieldset>
                <Field
                    form
                    errors
                    field="amount"
                    label=format!("Amount ({})", currency.code())
                    get=|f: &mut AdjustmentForm| &mut f.amount
                    mode="decimal"
                    prefix="adjust"
                />
                <div class="field">
                    <label for="adjust-reason">"Reason"</label>
                    <select
                        id="adjust-reason"
                        prop:value=move || form.with(|f| f.reason.clone())
                        on:change=move |ev| form.update(|f| f.reason = event_target_value(&ev))
                    >
                        {ReasonCode::ALL
                            .iter()
                            .map(|r| view! { <option value=r.as_str()>{r.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <Field
                    form
                    errors
                    field="comment"
                    label="Comment for operators (at least 10 characters)"
                    get=|f: &mut AdjustmentForm| &mut f.comment
                    prefix="adjust"
                    multiline=true
                />
                <Field
                    form
                    errors
                    field="description"
                    label="What the customer reads in Credit History"
                    get=|f: &mut AdjustmentForm| &mut f.description
                    prefix="adjust"
                />
                <button
                    type="submit"
                    class="button-primary"
                    aria-busy=move || submit.pending().get().to_string()
                    disabled=move || submit.pending().get()
                >
                    "Submit adjustment"
                </button>
            </form>
        </section>
    }
}
