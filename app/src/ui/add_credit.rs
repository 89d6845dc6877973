//! The Add credit button and its dialog: billing settings (first top-up only), amount,
//! payment method, confirm, then off to the gateway's page.
//!
//! A native modal `<dialog>`: the page behind is inert and Escape closes it; Tab is kept
//! inside too. Each step has a heading that takes focus, so a screen reader announces
//! where the person is. Every step's input lives in signals above the steps, so Back
//! shows what was entered. Rules (which currency, which method, the limits, the field
//! checks) come from `model`, the same code the server runs again.

use super::billing_form::BillingFields;
use super::browser;
use super::language::use_locale;
use crate::api::{SaveBillingSettings, StartTopUp, get_top_up_setup};
use crate::i18n::*;
use crate::model::billing::{BillingForm, FieldError};
use crate::model::money::{Currency, Money};
use crate::model::top_up::Gateway;
use crate::model::top_up::{TopUpSetup, check_amount, gateway_for, minimum, presets};
use leptos::html;
use leptos::prelude::*;

const HEADING: &str = "add-credit-heading";

/// The header's Add credit button with its dialog.
#[island]
pub fn AddCredit() -> impl IntoView {
    super::island(None);
    let locale = use_locale();
    let open = super::header::AddCreditRequest::of_page().open;
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        let Some(d) = dialog.get() else { return };
        if open.get() {
            if !d.open() {
                let _ = d.show_modal();
                browser::focus_id(HEADING);
            }
        } else if d.open() {
            d.close();
        }
    });
    let close = Callback::new(move |()| open.set(false));
    view! {
        <super::Controls>
            <button
                type="button"
                class="button-primary add-credit"
                aria-haspopup="dialog"
                id="add-credit-button"
                on:click=move |_| open.set(true)
            >
                {td_string!(locale, add_credit.button)}
            </button>
            <dialog
                node_ref=dialog
                class="modal"
                aria-labelledby=HEADING
                // Escape closes a modal dialog natively; this keeps our state in step.
                on:close=move |_| {
                    open.set(false);
                    browser::focus_id("add-credit-button");
                }
                on:keydown=move |ev| {
                    #[cfg(feature = "hydrate")]
                    if let Some(d) = dialog.get_untracked() {
                        browser::keep_focus_inside(&d, &ev);
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = ev;
                }
            >
                <button
                    type="button"
                    class="modal-close"
                    aria-label=td_string!(locale, close)
                    on:click=move |_| close.run(())
                >
                    "×"
                </button>
                <Show when=move || open.get()>
                    <Suspense fallback=move || view! { <Loading /> }>
                        {Suspend::new(async { flow().await })}
                    </Suspense>
                </Show>
            </dialog>
        </super::Controls>
    }
}

/// The dialog's steps are their own piece of the browser bundle, fetched the first
/// time the dialog opens (most visits never open it). Never called on the server: the
/// dialog renders closed.
#[lazy]
fn flow() -> AnyView {
    view! { <Flow /> }.into_any()
}

/// The dialog's title while its steps or its setup load.
#[component]
fn Loading() -> impl IntoView {
    let locale = use_locale();
    view! {
        <h2 id=HEADING tabindex="-1">{td_string!(locale, add_credit.title)}</h2>
        <p class="loading">{td_string!(locale, loading)}</p>
    }
}

/// The dialog's content, fresh each time it opens.
#[component]
fn Flow() -> impl IntoView {
    let locale = use_locale();
    let setup = LocalResource::new(get_top_up_setup);
    view! {
        <Suspense fallback=move || view! { <Loading /> }>
            {move || Suspend::new(async move {
                match setup.await {
                    Ok(setup) => view! { <Steps setup /> }.into_any(),
                    Err(e) => view! {
                        <h2 id=HEADING tabindex="-1">{td_string!(locale, add_credit.title)}</h2>
                        <p class="form-error" role="alert">{super::messages::error(locale, &e)}</p>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Settings,
    Amount,
    Method,
    Confirm,
}

/// Everything entered so far, shared by the steps.
#[derive(Clone, Copy)]
struct Entered {
    step: RwSignal<Step>,
    /// Whether this top-up began with the settings step (so Amount has a Back).
    with_settings: bool,
    form: RwSignal<BillingForm>,
    currency: RwSignal<Option<Currency>>,
    amount: RwSignal<String>,
    /// What the dialog started from: the maximums, and the countries by name.
    setup: StoredValue<TopUpSetup>,
    /// The currency of an account opened before (fixed: it cannot change).
    held: Option<Currency>,
}

impl Entered {
    fn go(&self, step: Step) {
        self.step.set(step);
        browser::focus_id(HEADING);
    }
}

#[component]
fn Steps(setup: TopUpSetup) -> impl IntoView {
    // An amount asked for by the page (a plan's shortfall), used once.
    let prefill = super::header::AddCreditRequest::of_page()
        .amount
        .try_update(Option::take)
        .flatten();
    let with_settings = setup.profile.is_none();
    let form = match &setup.profile {
        Some(p) => BillingForm {
            billing_type: p.billing_type.as_str().to_owned(),
            name: p.name.clone(),
            email: p.email.clone(),
            address: p.address.clone(),
            country: p.country.clone(),
            currency: p.currency.code().to_owned(),
            tax_code: p.tax_code.clone().unwrap_or_default(),
        },
        None => BillingForm {
            billing_type: "personal".into(),
            email: setup.email.clone(),
            currency: setup
                .currency
                .map(|c| c.code().to_owned())
                .unwrap_or_default(),
            ..BillingForm::default()
        },
    };
    let entered = Entered {
        step: RwSignal::new(if with_settings {
            Step::Settings
        } else {
            Step::Amount
        }),
        with_settings,
        form: RwSignal::new(form),
        currency: RwSignal::new(setup.profile.as_ref().map(|p| p.currency)),
        held: setup.currency,
        amount: RwSignal::new(prefill.map(|m| m.to_plain_string()).unwrap_or_default()),
        setup: StoredValue::new(setup),
    };
    // The loading heading had focus; give it to the first step's heading.
    Effect::new(move |_| browser::focus_id(HEADING));
    move || match entered.step.get() {
        Step::Settings => view! { <SettingsStep entered /> }.into_any(),
        Step::Amount => view! { <AmountStep entered /> }.into_any(),
        Step::Method => view! { <MethodStep entered /> }.into_any(),
        Step::Confirm => view! { <ConfirmStep entered /> }.into_any(),
    }
}

fn step_heading(number: u8, of: u8, title: &'static str) -> impl IntoView {
    let locale = use_locale();
    view! {
        <p class="step-count muted">{td_string!(locale, add_credit.step, number, of).to_string()}</p>
        <h2 id=HEADING tabindex="-1">{title}</h2>
    }
}

/// The step numbers: with settings there are four steps, without three.
fn numbered(entered: &Entered, step: Step) -> (u8, u8) {
    let offset = u8::from(entered.with_settings);
    let n = match step {
        Step::Settings => 0,
        Step::Amount => 1,
        Step::Method => 2,
        Step::Confirm => 3,
    };
    (n + offset, 3 + offset)
}

#[component]
fn SettingsStep(entered: Entered) -> impl IntoView {
    let locale = use_locale();
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let save = ServerAction::<SaveBillingSettings>::new();
    Effect::new(move |_| {
        let Some(result) = save.value().get() else {
            return;
        };
        match result {
            Ok(()) => {
                let currency = Currency::from_code(&entered.form.get_untracked().currency);
                entered.currency.set(currency);
                entered.go(Step::Amount);
            }
            Err(crate::model::error::AppError::Fields(list)) => errors.set(list),
            Err(e) => errors.set(vec![FieldError::text(
                "form",
                super::messages::error(locale, &e),
            )]),
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = entered.form.get_untracked();
        match form.validate() {
            Err(list) => {
                errors.set(list);
                browser::focus_id("billing-form-error");
            }
            Ok(_) => {
                errors.set(Vec::new());
                save.dispatch(SaveBillingSettings { form });
            }
        }
    };
    let (n, of) = numbered(&entered, Step::Settings);
    let form_message = super::billing_form::form_message(errors);
    view! {
        {step_heading(n, of, td_string!(locale, add_credit.settings_title))}
        <p class="muted">{td_string!(locale, add_credit.settings_intro)}</p>
        <form class="modal-form" novalidate on:submit=submit>
            <super::billing_form::FormProblem message=form_message id="billing-form-error" />
            <BillingFields
                form=entered.form
                errors
                held=entered.held
                countries=entered.setup.with_value(|s| s.countries.clone())
            />
            <div class="modal-actions">
                <button type="submit" class="button-primary" disabled=move || save.pending().get()>
                    {move || {
                        if save.pending().get() { td_string!(locale, saving) } else { td_string!(locale, go_on) }
                    }}
                </button>
            </div>
        </form>
    }
}

fn currency_of(entered: &Entered) -> Currency {
    entered.currency.get_untracked().unwrap_or(Currency::Usd)
}

#[component]
fn AmountStep(entered: Entered) -> impl IntoView {
    let locale = use_locale();
    let currency = currency_of(&entered);
    let maximum = entered.setup.with_value(|s| s.maximum(currency));
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match check_amount(&entered.amount.get_untracked(), currency, maximum) {
            Ok(_) => {
                error.set(None);
                entered.go(Step::Method);
            }
            Err(e) => {
                let problem = crate::model::problem::Problem::Amount(e);
                error.set(Some(super::messages::problem(locale, &problem)));
                browser::focus_id("custom-amount");
            }
        }
    };
    let (n, of) = numbered(&entered, Step::Amount);
    let limits = td_string!(
        locale,
        add_credit.limits,
        minimum = minimum(currency),
        maximum
    )
    .to_string();
    view! {
        {step_heading(n, of, td_string!(locale, add_credit.amount_title))}
        <form class="modal-form" novalidate on:submit=submit>
            <fieldset class="presets">
                <legend>{td_string!(locale, add_credit.choose_amount)}</legend>
                {presets(currency)
                    .into_iter()
                    .map(|preset| {
                        let plain = preset.to_plain_string();
                        let value = plain.clone();
                        view! {
                            <label class="preset">
                                <input
                                    type="radio"
                                    name="preset"
                                    value=plain.clone()
                                    prop:checked=move || entered.amount.get() == plain
                                    on:change=move |_| {
                                        error.set(None);
                                        entered.amount.set(value.clone());
                                    }
                                />
                                <span>{preset.to_string()}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <label for="custom-amount">
                {td_string!(locale, add_credit.custom_amount, currency = currency.code()).to_string()}
            </label>
            <input
                id="custom-amount"
                type="text"
                inputmode="decimal"
                autocomplete="off"
                prop:value=move || entered.amount.get()
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby="amount-limits amount-error"
                on:input=move |ev| {
                    error.set(None);
                    entered.amount.set(event_target_value(&ev));
                }
            />
            <p class="muted small" id="amount-limits">{limits}</p>
            <p class="field-error" id="amount-error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                {entered
                    .with_settings
                    .then(|| {
                        view! {
                            <button type="button" class="button-quiet" on:click=move |_| entered.go(Step::Settings)>
                                {td_string!(locale, back)}
                            </button>
                        }
                    })}
                <button type="submit" class="button-primary">{td_string!(locale, go_on)}</button>
            </div>
        </form>
    }
}

/// What a gateway takes, as the payment-method step says it.
fn accepts(locale: Locale, gateway: Gateway) -> &'static str {
    match gateway {
        Gateway::VnPay => td_string!(locale, add_credit.accepts_vnpay),
        Gateway::Stripe => td_string!(locale, add_credit.accepts_stripe),
        Gateway::PayPal => td_string!(locale, add_credit.accepts_paypal),
    }
}

#[component]
fn MethodStep(entered: Entered) -> impl IntoView {
    let locale = use_locale();
    let currency = currency_of(&entered);
    let gateway = gateway_for(currency);
    let (n, of) = numbered(&entered, Step::Method);
    view! {
        {step_heading(n, of, td_string!(locale, add_credit.method_title))}
        <form
            class="modal-form"
            on:submit=move |ev| {
                ev.prevent_default();
                entered.go(Step::Confirm);
            }
        >
            <fieldset class="methods">
                <legend>
                    {td_string!(locale, add_credit.methods_for, currency = currency.code()).to_string()}
                </legend>
                <label class="method">
                    <input type="radio" name="method" value=gateway.as_str() checked />
                    <span>
                        <strong>{gateway.label()}</strong>
                        <span class="muted small">{accepts(locale, gateway)}</span>
                    </span>
                </label>
            </fieldset>
            <div class="modal-actions">
                <button type="button" class="button-quiet" on:click=move |_| entered.go(Step::Amount)>
                    {td_string!(locale, back)}
                </button>
                <button type="submit" class="button-primary">{td_string!(locale, go_on)}</button>
            </div>
        </form>
    }
}

#[component]
fn ConfirmStep(entered: Entered) -> impl IntoView {
    let locale = use_locale();
    let currency = currency_of(&entered);
    let gateway = gateway_for(currency);
    let maximum = entered.setup.with_value(|s| s.maximum(currency));
    let amount = check_amount(&entered.amount.get_untracked(), currency, maximum)
        .unwrap_or_else(|_| Money::zero(currency));
    let agreed = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let pay = ServerAction::<StartTopUp>::new();
    // One token per visit to this step: a double click (or a retry after a network
    // error) finds the payment the first click made.
    let token = StoredValue::new(browser::new_token());
    Effect::new(move |_| match pay.value().get() {
        Some(Ok(url)) => browser::go_to(&url),
        Some(Err(e)) => error.set(Some(super::messages::error(locale, &e))),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !agreed.get_untracked() {
            error.set(Some(super::messages::problem(
                locale,
                &crate::model::problem::Problem::ConfirmNonRefundable,
            )));
            browser::focus_id("non-refundable");
            return;
        }
        if pay.pending().get_untracked() {
            return;
        }
        error.set(None);
        pay.dispatch(StartTopUp {
            amount: entered.amount.get_untracked(),
            client_token: token.get_value(),
            // What the customer ticked: the server records it with the payment.
            consent: crate::model::top_up::TERMS_VERSION.to_owned(),
        });
    };
    let busy = move || pay.pending().get() || matches!(pay.value().get(), Some(Ok(_)));
    let (n, of) = numbered(&entered, Step::Confirm);
    view! {
        {step_heading(n, of, td_string!(locale, add_credit.confirm_title))}
        <form class="modal-form" novalidate on:submit=submit>
            <dl class="summary">
                <dt>{td_string!(locale, add_credit.amount)}</dt>
                <dd>{amount.to_string()}</dd>
                <dt>{td_string!(locale, add_credit.currency)}</dt>
                <dd>{currency.code()}</dd>
                <dt>{td_string!(locale, add_credit.method)}</dt>
                <dd>{gateway.label()}</dd>
            </dl>
            <label class="check agree">
                <input
                    id="non-refundable"
                    type="checkbox"
                    required
                    prop:checked=move || agreed.get()
                    aria-describedby="pay-error"
                    on:change=move |ev| {
                        agreed.set(event_target_checked(&ev));
                        error.set(None);
                    }
                />
                {td_string!(locale, add_credit.terms)}
            </label>
            <p class="field-error" id="pay-error" role="alert">{move || error.get()}</p>
            <p class="muted small">
                {td_string!(locale, add_credit.continue_to, gateway = gateway.label()).to_string()}
            </p>
            <div class="modal-actions">
                <button type="button" class="button-quiet" on:click=move |_| entered.go(Step::Method)>
                    {td_string!(locale, back)}
                </button>
                <button type="submit" class="button-primary" aria-busy=move || busy().to_string() disabled=busy>
                    {move || {
                        if busy() {
                            td_string!(locale, add_credit.opening).to_owned()
                        } else {
                            td_string!(locale, add_credit.pay, amount).to_string()
                        }
                    }}
                </button>
            </div>
        </form>
    }
}
