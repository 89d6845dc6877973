//! The Billing Plans tab: the plans side by side, the current one marked with its
//! period and price; Upgrade (preview, then Confirm), Downgrade and Cancel (at the
//! period's end, undoable), and an unpaid renewal's grace with Add credit prefilled.

use super::browser;
use super::header::{AddCreditRequest, FreshBalances};
use crate::api::{PreviewPlanUpgrade, SchedulePlanChange, UndoPlanChange, UpgradePlan, get_plans};
use crate::model::error::AppError;
use crate::model::plan::{CurrentPlan, PlanAction, PlanOffer, PlansPage, UpgradePreview};
use leptos::prelude::*;
use leptos_meta::Title;

/// What the last action said: a success to announce, or a refusal.
type Outcome = RwSignal<Option<Result<String, String>>>;

#[component]
pub fn PlansTab() -> impl IntoView {
    let plans = Resource::new(|| (), |_| get_plans());
    let outcome: Outcome = RwSignal::new(None);
    let preview = ServerAction::<PreviewPlanUpgrade>::new();
    let schedule = ServerAction::<SchedulePlanChange>::new();
    let undo = ServerAction::<UndoPlanChange>::new();
    // A scheduled change or its undo: say what happened, read the plans again.
    for action in [schedule.value(), undo.value()] {
        Effect::new(move |_| {
            if let Some(answer) = action.get() {
                outcome.set(Some(
                    answer.map(|done| done.message).map_err(|e| e.to_string()),
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
        <Title text="Billing Plans" />
        <section aria-labelledby="plans-heading">
            <h2 id="plans-heading">"Billing Plans"</h2>
            <p id="plan-outcome" role="status" class=move || match outcome.get() {
                Some(Err(_)) => "form-error",
                _ => "form-success",
            }>{move || outcome.get().map(|o| o.unwrap_or_else(|e| e))}</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match plans.await {
                        Ok(page) => view! { <Plans page actions /> }.into_any(),
                        Err(AppError::NoBillingProfile) => view! {
                            <p class="empty">
                                "Plans are paid from your balance. Choose Add credit to set your billing details and currency first."
                            </p>
                        }
                            .into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }
                            .into_any(),
                    }
                })}
            </Transition>
            {move || {
                preview
                    .value()
                    .get()
                    .map(|answer| match answer {
                        Ok(p) => view! { <Preview preview=p actions /> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }
                            .into_any(),
                    })
            }}
        </section>
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
    view! {
        <Current current=page.current.clone() actions />
        <ul class="plan-grid" aria-label="Plans">
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
    let add_credit = expect_context::<AddCreditRequest>();
    let busy = move || actions.schedule.pending().get() || actions.undo.pending().get();
    let grace = current.grace.clone().map(|grace| {
        let top_up = grace.shortfall;
        view! {
            <div class="notice notice-warning" role="alert">
                <p>
                    {format!(
                        "Your {} renewal ({}) is unpaid: your balance is short by {}. Add credit by {} to keep {}; after that your account moves to the free plan.",
                        current.name, grace.due, grace.shortfall, grace.until, current.name,
                    )}
                </p>
                <button type="button" class="button-primary" on:click=move |_| add_credit.open_with(top_up)>
                    {format!("Add credit {top_up}")}
                </button>
            </div>
        }
    });
    let scheduled = current.scheduled.clone().map(|s| {
        let what = if s.cancel {
            format!(
                "Your plan is cancelled: you move to the {} plan on {}.",
                s.to_name, s.on
            )
        } else {
            format!("You move to the {} plan on {}.", s.to_name, s.on)
        };
        view! {
            <div class="notice">
                <p>{what} " Nothing is charged for it."</p>
                <button
                    type="button"
                    class="button-quiet"
                    disabled=busy
                    on:click=move |_| {
                        actions.outcome.set(None);
                        actions.undo.dispatch(UndoPlanChange {});
                    }
                >
                    "Undo scheduled change"
                </button>
            </div>
        }
    });
    let can_cancel = !current.is_free && current.scheduled.is_none();
    view! {
        <section class="current-plan" aria-labelledby="current-plan-heading">
            <h3 id="current-plan-heading">"Your plan: " {current.name.clone()}</h3>
            <dl class="facts">
                <div>
                    <dt>"Price"</dt>
                    <dd>{format!("{} a month", current.price)}</dd>
                </div>
                <div>
                    <dt>"Current period"</dt>
                    <dd>{format!("since {}", current.period_start)}</dd>
                </div>
                <div>
                    <dt>{if current.is_free { "Next period" } else { "Renews on" }}</dt>
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
                    "Cancel plan"
                </button>
            })}
        </section>
    }
}

#[component]
fn Offer(offer: PlanOffer, current: CurrentPlan, actions: Actions) -> impl IntoView {
    let code = offer.code.clone();
    let name = offer.name.clone();
    let heading = format!("plan-{}", offer.code);
    let labelled_by = heading.clone();
    let busy = move || actions.preview.pending().get() || actions.schedule.pending().get();
    let button = match offer.action {
        PlanAction::Current => view! { <p class="plan-badge">"Current plan"</p> }.into_any(),
        PlanAction::Scheduled => view! {
            <p class="plan-badge">
                {current.scheduled.map(|s| format!("From {}", s.on)).unwrap_or_default()}
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
                {format!("Upgrade to {name}")}
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
                {format!("Downgrade to {name}")}
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
                " a month"
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
    let fresh = expect_context::<FreshBalances>();
    let add_credit = expect_context::<AddCreditRequest>();
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
                actions.outcome.set(Some(Ok(done.message)));
                actions.preview.value().set(None);
                actions.plans.refetch();
                browser::focus_id("plans-heading");
            }
            Err(e) => actions.outcome.set(Some(Err(e.to_string()))),
        }
    });
    let to_code = preview.to_code.clone();
    let expected_minor = preview.amount.to_minor().unwrap_or(0);
    let short = preview.shortfall.clone();
    let title = format!("Upgrade to {}", preview.to_name);
    view! {
        <section class="plan-preview" aria-labelledby="plan-preview-heading">
            <h3 id="plan-preview-heading" tabindex="-1">{title}</h3>
            <dl class="facts">
                <div>
                    <dt>"Charged now"</dt>
                    <dd data-testid="upgrade-amount">{preview.amount.to_string()}</dd>
                </div>
                <div>
                    <dt>"Covers"</dt>
                    <dd>{preview.covers.clone()}</dd>
                </div>
                <div>
                    <dt>"Then"</dt>
                    <dd>
                        {format!("{} a month from {}", preview.renewal_price, preview.renews_on)}
                    </dd>
                </div>
                <div>
                    <dt>"Your balance"</dt>
                    <dd>{preview.balances.total().to_string()}</dd>
                </div>
            </dl>
            <p class="muted small">
                "Paid from your balance, voucher credits first. The charge is the price difference for the rest of your current period, rounded down."
            </p>
            {short
                .clone()
                .map(|s| {
                    view! {
                        <div class="notice notice-warning" role="alert">
                            <p>
                                {format!(
                                    "Your balance is short by {}. Add credit, then confirm the upgrade.",
                                    s.missing,
                                )}
                            </p>
                            <button type="button" class="button-primary" on:click=move |_| add_credit.open_with(s.top_up)>
                                {format!("Add credit {}", s.top_up)}
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
                    "Confirm upgrade"
                </button>
                <button type="button" class="button-quiet" on:click=move |_| actions.preview.value().set(None)>
                    "Not now"
                </button>
            </div>
        </section>
    }
}
