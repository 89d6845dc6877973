//! The console's Plans page: the catalogue with prices, limits and subscribers, and a
//! form to define a plan (or replace one by its code), checked as `server plan define`
//! checks it.

use super::browser;
use super::ops::Field;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{DefinePlan, plan_catalogue};
use crate::model::billing::FieldError;
use crate::model::error::AppError;
use crate::model::plan::{PlanForm, PlanSummary};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PlanCatalogue() -> impl IntoView {
    view! {
        <super::ops::Requires capability=crate::model::operator::Capability::ManagePlans>
            <Catalogue />
        </super::ops::Requires>
    }
}

#[component]
fn Catalogue() -> impl IntoView {
    view! {
        <Title text="Plans" />
        <CatalogueLive />
    }
}

/// The page's content: its list is read again after each change.
#[island(lazy)]
fn CatalogueLive() -> impl IntoView {
    super::island(Some("catalogue_live"));
    let refresh = RwSignal::new(0_u32);
    let list = page_resource(|| Resource::new(move || refresh.get(), |_| plan_catalogue()));
    view! {
        <super::Controls>
            <DefinePlanForm on_saved=move || refresh.update(|n| *n += 1) />
            <section aria-labelledby="catalogue-heading">
                <h2 id="catalogue-heading">"Plans"</h2>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || suspend(async move {
                        match list.await {
                            Ok(plans) => view! { <PlanTable plans /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }
                                .into_any(),
                        }
                    })}
                </Transition>
            </section>
        </super::Controls>
    }
}

#[component]
fn PlanTable(plans: Vec<PlanSummary>) -> impl IntoView {
    view! {
        <table aria-label="Plans" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Plan"</th>
                    <th scope="col" role="columnheader">"Code"</th>
                    <th scope="col" role="columnheader">"Price a month"</th>
                    <th scope="col" role="columnheader">"Limits"</th>
                    <th scope="col" role="columnheader" class="num">"Subscribers"</th>
                    <th scope="col" role="columnheader">"State"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {plans
                    .into_iter()
                    .map(|p| {
                        let prices = if p.is_default {
                            "Free".to_owned()
                        } else {
                            p.prices.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                        };
                        let state = match (p.is_default, p.active) {
                            (true, _) => "Default",
                            (false, true) => "Offered",
                            (false, false) => "Hidden",
                        };
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="Plan">
                                    <strong>{p.name}</strong>
                                    <span class="muted small block">{p.description}</span>
                                </td>
                                <td role="cell" data-label="Code" class="code">{p.code}</td>
                                <td role="cell" data-label="Price a month">{prices}</td>
                                <td role="cell" data-label="Limits" class="code">{p.limits}</td>
                                <td role="cell" data-label="Subscribers" class="num">{p.subscribers}</td>
                                <td role="cell" data-label="State">{state}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DefinePlanForm(on_saved: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let blank = || PlanForm {
        active: true,
        ..Default::default()
    };
    let form = RwSignal::new(blank());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let saved = RwSignal::new(None::<String>);
    let define = ServerAction::<DefinePlan>::new();
    Effect::new(move |_| match define.value().get() {
        Some(Ok(())) => {
            saved.set(Some(format!(
                "Plan “{}” saved.",
                form.with_untracked(|f| f.name.clone())
            )));
            form.set(blank());
            on_saved();
        }
        Some(Err(AppError::Fields(list))) => errors.set(list),
        Some(Err(e)) => errors.set(vec![FieldError::text("form", e.to_string())]),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let typed = form.get_untracked();
        match typed.validate() {
            Err(list) => {
                errors.set(list);
                browser::focus_id("plan-form-error");
            }
            Ok(_) => {
                errors.set(Vec::new());
                define.dispatch(DefinePlan { form: typed });
            }
        }
    };
    let form_message = super::billing_form::form_message(errors);
    view! {
        <section aria-labelledby="define-heading" class="panel">
            <h2 id="define-heading">"Define a plan"</h2>
            <p class="muted small">
                "A code already in the catalogue replaces that plan; a new price applies from each subscriber's next renewal."
            </p>
            <p role="status" class="form-success">{move || saved.get()}</p>
            <form class="campaign-form" novalidate on:submit=submit>
                <super::billing_form::FormProblem message=form_message id="plan-form-error" />
                <div class="field-grid">
                    <Field form errors prefix="plan" field="code" label="Code (e.g. pro)" get=|f: &mut PlanForm| &mut f.code />
                    <Field form errors prefix="plan" field="name" label="Name" get=|f: &mut PlanForm| &mut f.name />
                    <Field
                        form
                        errors
                        prefix="plan"
                        field="rank"
                        label="Display order"
                        get=|f: &mut PlanForm| &mut f.rank
                        mode="numeric"
                    />
                </div>
                <Field
                    form
                    errors
                    prefix="plan"
                    field="description"
                    label="Description the customer sees"
                    get=|f: &mut PlanForm| &mut f.description
                />
                <Field
                    form
                    errors
                    prefix="plan"
                    field="features"
                    label="Features (one a line)"
                    get=|f: &mut PlanForm| &mut f.features
                    multiline=true
                />
                <Field
                    form
                    errors
                    prefix="plan"
                    field="limits"
                    label="Limits services read (one name=value a line)"
                    get=|f: &mut PlanForm| &mut f.limits
                    multiline=true
                />
                <fieldset>
                    <legend>"Price a month per currency (empty: not offered in it)"</legend>
                    <div class="field-grid">
                        <Field form errors prefix="plan" field="price_vnd" label="VND" get=|f: &mut PlanForm| &mut f.price_vnd mode="numeric" />
                        <Field form errors prefix="plan" field="price_jpy" label="JPY" get=|f: &mut PlanForm| &mut f.price_jpy mode="numeric" />
                        <Field form errors prefix="plan" field="price_usd" label="USD" get=|f: &mut PlanForm| &mut f.price_usd mode="decimal" />
                        <Field form errors prefix="plan" field="price_eur" label="EUR" get=|f: &mut PlanForm| &mut f.price_eur mode="decimal" />
                    </div>
                </fieldset>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || form.with(|f| f.active)
                        on:change=move |ev| form.update(|f| f.active = event_target_checked(&ev))
                    />
                    "Offered to customers"
                </label>
                <button
                    type="submit"
                    class="button-primary"
                    aria-busy=move || define.pending().get().to_string()
                    disabled=move || define.pending().get()
                >
                    "Save plan"
                </button>
            </form>
        </section>
    }
}
