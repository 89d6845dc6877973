//! The Billing Plans tab: the plans side by side, the current one marked with its
//! period and price; Upgrade (preview, then Confirm), Downgrade and Cancel (at the
//! period's end, undoable), and an unpaid renewal's grace with Add credit prefilled.

use super::browser;
use super::header::{AddCreditRequest, FreshBalances};
use super::language::use_locale;
use super::messages;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{PreviewPlanUpgrade, SchedulePlanChange, UndoPlanChange, UpgradePlan, get_plans};
use crate::i18n::*;
use crate::model::error::AppError;
use crate::model::plan::{Change, PlanChanged};
use crate::model::plan::{CurrentPlan, PlanAction, PlanOffer, PlansPage, UpgradePreview};
use leptos::prelude::*;
use leptos_meta::Title;

/// What the last action said: a success to announce, or a refusal.
type Outcome = RwSignal<Option<Result<String, String>>>;

/// What a plan change did, as the page says it.
fn said(locale: Locale, done: &PlanChanged) -> String {
    match &done.change {
        Change::Now { plan, paid } if paid.to_minor().unwrap_or(0) > 0 => {
            td_string!(locale, plans.now_paid, plan, paid).to_string()
        }
        Change::Now { plan, .. } => td_string!(locale, plans.now, plan).to_string(),
        Change::AfterRenewalPaid { plan } => {
            td_string!(locale, plans.after_renewal, plan).to_string()
        }
        Change::On { plan, on } => td_string!(locale, plans.on, plan, on).to_string(),
        Change::Undone => td_string!(locale, plans.undone).to_owned(),
    }
}

#[component]
pub fn PlansTab() -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, plans.title) />
        <PlansLive />
    }
}

/// The tab's content: every part of it can change after an action.
#[island(lazy)]
fn PlansLive() -> impl IntoView {
    super::island(Some("plans_live"));
    let locale = use_locale();
    let plans = page_resource(|| Resource::new(|| (), |_| get_plans()));
    let outcome: Outcome = RwSignal::new(None);
    let preview = ServerAction::<PreviewPlanUpgrade>::new();
    let schedule = ServerAction::<SchedulePlanChange>::new();
    let undo = ServerAction::<UndoPlanChange>::new();
    // A scheduled change or its undo: say what happened, read the plans again.
    for action in [schedule.value(), undo.value()] {
        Effect::new(move |_| {
            if let Some(answer) = action.get() {
                outcome.set(Some(
                    answer
                        .map(|done| said(locale, &done))
                        .map_err(|e| messages::error(locale, &e)),
                ));
                plans.refetch();
            }
        });
    }
    let actions = Actions {
        preview,
        schedule,
        undo,
        outcome,
        plans,
    };
    view! {
        <super::Controls>
            <section aria-labelledby="plans-heading">
                <h2 id="plans-heading">{td_string!(locale, plans.title)}</h2>
                <p id="plan-outcome" role="status" class=move || match outcome.get() {
                    Some(Err(_)) => "form-error",
                    _ => "form-success",
                }>{move || outcome.get().map(|o| o.unwrap_or_else(|e| e))}</p>
                <Transition fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
                    {move || suspend(async move {
                        match plans.await {
                            Ok(page) => view! { <Plans page actions /> }.into_any(),
                            Err(AppError::NoBillingProfile) => view! {
                                <p class="empty">{td_string!(locale, plans.no_profile)}</p>
                            }
                                .into_any(),
                            Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                        }
                    })}
                </Transition>
                {move || {
                    preview
                        .value()
                        .get()
                        .map(|answer| match answer {
                            Ok(p) => view! { <Preview preview=p actions /> }.into_any(),
                            Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                        })
                }}
            </section>
        </super::Controls>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    preview: ServerAction<PreviewPlanUpgrade>,
    schedule: ServerAction<SchedulePlanChange>,
    undo: ServerAction<UndoPlanChange>,
    outcome: Outcome,
    plans: Resource<Result<PlansPage, AppError>>,
}

#[component]
fn Plans(page: PlansPage, actions: Actions) -> impl IntoView {
    let locale = use_locale();
    view! {
        <Current current=page.current.clone() actions />
        <ul class="plan-grid" aria-label=td_string!(locale, plans.list)>
            {page
                .plans
                .into_iter()
                .map(|offer| view! { <Offer offer current=page.current.clone() actions /> })
                .collect_view()}
        </ul>
    }
}

#[component]
fn Current(current: CurrentPlan, actions: Actions) -> impl IntoView {
    let locale = use_locale();
    let add_credit = AddCreditRequest::of_page();
    let busy = move || actions.schedule.pending().get() || actions.undo.pending().get();
    let grace = current.grace.clone().map(|grace| {
        let top_up = grace.shortfall;
        view! {
            <div class="notice notice-warning" role="alert">
                <p>
                    {td_string!(
                        locale,
                        plans.grace,
                        plan = &current.name,
                        due = &grace.due,
                        short = grace.shortfall,
                        until = &grace.until
                    )
                        .to_string()}
                </p>
                <button type="button" class="button-primary" on:click=move |_| add_credit.open_with(top_up)>
                    {td_string!(locale, plans.add_credit, amount = top_up).to_string()}
                </button>
            </div>
        }
    });
    let scheduled = current.scheduled.clone().map(|s| {
        let what = if s.cancel {
            td_string!(locale, plans.cancelled, plan = &s.to_name, on = &s.on).to_string()
        } else {
            td_string!(locale, plans.moves, plan = &s.to_name, on = &s.on).to_string()
        };
        view! {
            <div class="notice">
                <p>{what} " " {td_string!(locale, plans.nothing_charged)}</p>
                <button
                    type="button"
                    class="button-quiet"
                    disabled=busy
                    on:click=move |_| {
                        actions.outcome.set(None);
                        actions.undo.dispatch(UndoPlanChange {});
                    }
                >
                    {td_string!(locale, plans.undo)}
                </button>
            </div>
        }
    });
    let can_cancel = !current.is_free && current.scheduled.is_none();
    view! {
        <section class="current-plan" aria-labelledby="current-plan-heading">
            <h3 id="current-plan-heading">
                {td_string!(locale, plans.your_plan, plan = &current.name).to_string()}
            </h3>
            <dl class="facts">
                <div>
                    <dt>{td_string!(locale, plans.price)}</dt>
                    <dd>{td_string!(locale, plans.a_month, price = current.price).to_string()}</dd>
                </div>
                <div>
                    <dt>{td_string!(locale, plans.current_period)}</dt>
                    <dd>{td_string!(locale, plans.since, start = &current.period_start).to_string()}</dd>
                </div>
                <div>
                    <dt>
                        {if current.is_free {
                            td_string!(locale, plans.next_period)
                        } else {
                            td_string!(locale, plans.renews_on)
                        }}
                    </dt>
                    <dd>{current.renews_on.clone()}</dd>
                </div>
            </dl>
            {grace}
            {scheduled}
            {can_cancel.then(|| view! {
                <button
                    type="button"
                    class="button-quiet"
                    disabled=busy
                    on:click=move |_| {
                        actions.outcome.set(None);
                        actions.schedule.dispatch(SchedulePlanChange { plan: String::new() });
                    }
                >
                    {td_string!(locale, plans.cancel)}
                </button>
            })}
        </section>
    }
}

#[component]
fn Offer(offer: PlanOffer, current: CurrentPlan, actions: Actions) -> impl IntoView {
    let locale = use_locale();
    let code = offer.code.clone();
    let name = offer.name.clone();
    let heading = format!("plan-{}", offer.code);
    let labelled_by = heading.clone();
    let busy = move || actions.preview.pending().get() || actions.schedule.pending().get();
    let button = match offer.action {
        PlanAction::Current => {
            view! { <p class="plan-badge">{td_string!(locale, plans.current)}</p> }.into_any()
        }
        PlanAction::Scheduled => view! {
            <p class="plan-badge">
                {current
                    .scheduled
                    .map(|s| td_string!(locale, plans.from, on = s.on).to_string())
                    .unwrap_or_default()}
            </p>
        }
        .into_any(),
        PlanAction::Upgrade => view! {
            <button
                type="button"
                class="button-primary"
                disabled=busy
                on:click=move |_| {
                    actions.outcome.set(None);
                    actions.preview.dispatch(PreviewPlanUpgrade { plan: code.clone() });
                }
            >
                {td_string!(locale, plans.upgrade_to, plan = &name).to_string()}
            </button>
        }
        .into_any(),
        PlanAction::Downgrade => view! {
            <button
                type="button"
                class="button-quiet"
                disabled=busy
                on:click=move |_| {
                    actions.outcome.set(None);
                    actions.preview.value().set(None);
                    actions.schedule.dispatch(SchedulePlanChange { plan: code.clone() });
                }
            >
                {td_string!(locale, plans.downgrade_to, plan = &name).to_string()}
            </button>
        }
        .into_any(),
    };
    view! {
        <li
            class="plan-card"
            class:plan-current=offer.action == PlanAction::Current
            aria-labelledby=labelled_by
            aria-current=(offer.action == PlanAction::Current).then_some("true")
        >
            <h3 id=heading>{offer.name.clone()}</h3>
            <p class="plan-price">
                <strong>{offer.price.to_string()}</strong>
                " "
                {td_string!(locale, plans.per_month)}
            </p>
            <p class="muted">{offer.description.clone()}</p>
            <ul class="plan-features">
                {offer.features.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
            </ul>
            {button}
        </li>
    }
}

/// What an upgrade will charge and cover; Confirm makes it.
#[component]
fn Preview(preview: UpgradePreview, actions: Actions) -> impl IntoView {
    let locale = use_locale();
    let fresh = FreshBalances::of_page();
    let add_credit = AddCreditRequest::of_page();
    let upgrade = ServerAction::<UpgradePlan>::new();
    // One token per preview: a double click on Confirm upgrades and charges once.
    let token = StoredValue::new(browser::new_token());
    Effect::new(move |_| browser::focus_id("plan-preview-heading"));
    Effect::new(move |_| {
        let Some(answer) = upgrade.value().get() else {
            return;
        };
        match answer {
            Ok(done) => {
                if let Some(balances) = done.balances {
                    fresh.0.set(Some(balances));
                }
                actions.outcome.set(Some(Ok(said(locale, &done))));
                actions.preview.value().set(None);
                actions.plans.refetch();
                browser::focus_id("plans-heading");
            }
            Err(e) => actions.outcome.set(Some(Err(messages::error(locale, &e)))),
        }
    });
    let to_code = preview.to_code.clone();
    let expected_minor = preview.amount.to_minor().unwrap_or(0);
    let short = preview.shortfall.clone();
    let title = td_string!(locale, plans.upgrade_to, plan = &preview.to_name).to_string();
    view! {
        <section class="plan-preview" aria-labelledby="plan-preview-heading">
            <h3 id="plan-preview-heading" tabindex="-1">{title}</h3>
            <dl class="facts">
                <div>
                    <dt>{td_string!(locale, plans.charged_now)}</dt>
                    <dd data-testid="upgrade-amount">{preview.amount.to_string()}</dd>
                </div>
                <div>
                    <dt>{td_string!(locale, plans.covers)}</dt>
                    <dd>{preview.covers.clone()}</dd>
                </div>
                <div>
                    <dt>{td_string!(locale, plans.then)}</dt>
                    <dd>
                        {td_string!(
                            locale,
                            plans.then_value,
                            price = preview.renewal_price,
                            on = &preview.renews_on
                        )
                            .to_string()}
                    </dd>
                </div>
                <div>
                    <dt>{td_string!(locale, plans.your_balance)}</dt>
                    <dd>{preview.balances.total().to_string()}</dd>
                </div>
            </dl>
            <p class="muted small">
                {td_string!(locale, plans.how_paid)}
            </p>
            {short
                .clone()
                .map(|s| {
                    view! {
                        <div class="notice notice-warning" role="alert">
                            <p>
                                {td_string!(locale, plans.short, amount = s.missing).to_string()}
                            </p>
                            <button type="button" class="button-primary" on:click=move |_| add_credit.open_with(s.top_up)>
                                {td_string!(locale, plans.add_credit, amount = s.top_up).to_string()}
                            </button>
                        </div>
                    }
                })}
            <div class="form-actions">
                <button
                    type="button"
                    class="button-primary"
                    disabled=move || short.is_some() || upgrade.pending().get()
                    aria-busy=move || upgrade.pending().get().to_string()
                    on:click=move |_| {
                        if upgrade.pending().get_untracked() {
                            return;
                        }
                        upgrade.dispatch(UpgradePlan {
                            plan: to_code.clone(),
                            expected_minor,
                            token: token.get_value(),
                        });
                    }
                >
                    {td_string!(locale, plans.confirm)}
                </button>
                <button type="button" class="button-quiet" on:click=move |_| actions.preview.value().set(None)>
                    {td_string!(locale, plans.not_now)}
                </button>
            </div>
        </section>
    }
}
