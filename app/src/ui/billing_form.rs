//! The billing details' fields (Personal/Company, name, email, address, country,
//! currency, tax code), shared by the Add credit dialog's first step and the Settings
//! tab. Each problem shows beside its field; the rules are `BillingForm::validate`'s.

use super::language::use_locale;
use crate::i18n::*;
use crate::model::billing::{BillingForm, FieldError};
use crate::model::money::Currency;
use crate::model::top_up::{currencies_for, fixed_currency};
use leptos::prelude::*;

/// The fields, bound to `form`; `held` is the account's currency once it has one (fixed).
#[component]
pub fn BillingFields(
    form: RwSignal<BillingForm>,
    errors: RwSignal<Vec<FieldError>>,
    held: Option<Currency>,
    /// Every country as (code, name) in the reader's language, from the server.
    countries: Vec<(String, String)>,
) -> impl IntoView {
    let locale = use_locale();
    let company = move || form.with(|f| f.billing_type == "company");
    let country = move || form.with(|f| f.country.clone());
    // A country with one currency fixes it; elsewhere the person picks.
    let set_country = move |code: String| {
        form.update(|f| {
            f.country = code.clone();
            let allowed = currencies_for(&code);
            let current = Currency::from_code(&f.currency);
            if let Some(held) = held {
                f.currency = held.code().to_owned();
            } else if let Some(fixed) = fixed_currency(&code) {
                f.currency = fixed.code().to_owned();
            } else if !current.is_some_and(|c| allowed.contains(&c)) {
                f.currency = allowed
                    .first()
                    .map(|c| c.code().to_owned())
                    .unwrap_or_default();
            }
        });
    };
    let currency_message = message_for(errors, "currency");
    let country_message = message_for(errors, "country");
    let type_message = message_for(errors, "billing_type");
    view! {
            <fieldset class="choice-row">
                <legend>{td_string!(locale, billing_form.kind)}</legend>
                {[
                    ("personal", td_string!(locale, billing_form.personal)),
                    ("company", td_string!(locale, billing_form.company)),
                ]
                    .into_iter()
                    .map(|(value, label)| {
                        view! {
                            <label class="check">
                                <input
                                    type="radio"
                                    name="billing-type"
                                    value=value
                                    prop:checked=move || form.with(|f| f.billing_type == value)
                                    on:change=move |_| form.update(|f| f.billing_type = value.to_owned())
                                />
                                {label}
                            </label>
                        }
                    })
                    .collect_view()}
                <FieldMessage id="billing-billing_type-error".into() message=type_message />
            </fieldset>
            <TextField
                form
                errors
                field="name"
                label=Signal::derive(move || {
                    if company() {
                        td_string!(locale, billing_form.company_name).to_owned()
                    } else {
                        td_string!(locale, billing_form.full_name).to_owned()
                    }
                })
                autocomplete="name"
            />
            <TextField
                form
                errors
                field="email"
                label=td_string!(locale, billing_form.email).to_owned()
                kind="email"
                autocomplete="email"
            />
            <TextField
                form
                errors
                field="address"
                label=td_string!(locale, billing_form.address).to_owned()
                autocomplete="street-address"
            />
            <label for="billing-country">{td_string!(locale, billing_form.country)}</label>
            <select
                id="billing-country"
                prop:value=country
                aria-invalid=move || country_message.get().is_some().then_some("true")
                aria-describedby=move || country_message.get().is_some().then_some("billing-country-error")
                on:change=move |ev| set_country(event_target_value(&ev))
            >
                <option value="">{td_string!(locale, billing_form.choose_country)}</option>
                {countries
                    .into_iter()
                    .map(|(code, name)| view! { <option value=code>{name}</option> })
                    .collect_view()}
            </select>
            <FieldMessage id="billing-country-error".into() message=country_message />
            <label for="billing-currency">{td_string!(locale, billing_form.currency)}</label>
            <select
                id="billing-currency"
                prop:value=move || form.with(|f| f.currency.clone())
                disabled=move || {
                    held.is_some() || country().is_empty()
                        || fixed_currency(&country()).is_some()
                }
                aria-describedby="billing-currency-note"
                aria-invalid=move || currency_message.get().is_some().then_some("true")
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    form.update(|f| f.currency = value);
                }
            >
                {move || {
                    let c = country();
                    if let Some(held) = held {
                        view! { <option value=held.code()>{held.code()}</option> }.into_any()
                    } else if c.is_empty() {
                        view! { <option value="">{td_string!(locale, billing_form.country_first)}</option> }.into_any()
                    } else {
                        currencies_for(&c)
                            .into_iter()
                            .map(|cur| view! { <option value=cur.code()>{cur.code()}</option> })
                            .collect_view()
                            .into_any()
                    }
                }}
            </select>
            <p class="muted small" id="billing-currency-note">
                {match held {
                    Some(held) => {
                        td_string!(locale, billing_form.currency_fixed, currency = held.code()).to_string()
                    }
                    None => td_string!(locale, billing_form.currency_note).to_owned(),
                }}
            </p>
            <FieldMessage id="billing-currency-error".into() message=currency_message />
            <TextField
                form
                errors
                field="tax_code"
                label=Signal::derive(move || {
                    if company() {
                        td_string!(locale, billing_form.tax_code).to_owned()
                    } else {
                        td_string!(locale, billing_form.tax_code_optional).to_owned()
                    }
                })
            />
    }
}

/// The message above a form with problems: a form-wide one if the server sent it,
/// otherwise the reminder that each field says what to fix.
pub fn form_message(errors: RwSignal<Vec<FieldError>>) -> Signal<Option<String>> {
    let locale = use_locale();
    Signal::derive(move || {
        let list = errors.get();
        (!list.is_empty()).then(|| {
            list.iter().find(|e| e.field == "form").map_or_else(
                || td_string!(locale, errors.fields).to_owned(),
                |e| super::messages::problem(locale, &e.problem),
            )
        })
    })
}

/// The form's message (see [`form_message`]) above its fields, focusable by `id`.
#[component]
pub fn FormProblem(message: Signal<Option<String>>, id: &'static str) -> impl IntoView {
    move || {
        message.get().map(|m| {
            view! {
                <p class="form-error" role="alert" id=id tabindex="-1">
                    {m}
                </p>
            }
        })
    }
}

/// A field's message, if it has one.
pub fn message_for(
    errors: RwSignal<Vec<FieldError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    let locale = use_locale();
    Signal::derive(move || {
        errors
            .get()
            .into_iter()
            .find(|e| e.field == field)
            .map(|e| super::messages::problem(locale, &e.problem))
    })
}

/// A labelled text input bound to one field of the billing form.
#[component]
fn TextField(
    form: RwSignal<BillingForm>,
    errors: RwSignal<Vec<FieldError>>,
    field: &'static str,
    #[prop(into)] label: Signal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] autocomplete: &'static str,
) -> impl IntoView {
    let id = format!("billing-{field}");
    let error_id = format!("{id}-error");
    let message = message_for(errors, field);
    let get = move |f: &BillingForm| match field {
        "name" => f.name.clone(),
        "email" => f.email.clone(),
        "address" => f.address.clone(),
        _ => f.tax_code.clone(),
    };
    view! {
        <label for=id.clone()>{label}</label>
        <input
            id=id
            type=kind
            autocomplete=autocomplete
            prop:value=move || form.with(get)
            aria-invalid=move || message.get().is_some().then_some("true")
            aria-describedby=move || message.get().is_some().then(|| error_id.clone())
            on:input=move |ev| {
                let value = event_target_value(&ev);
                form
                    .update(|f| match field {
                        "name" => f.name = value,
                        "email" => f.email = value,
                        "address" => f.address = value,
                        _ => f.tax_code = value,
                    });
            }
        />
        <FieldMessage id=format!("billing-{field}-error") message />
    }
}

#[component]
pub fn FieldMessage(id: String, message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|m| {
            view! {
                <p class="field-error" id=id.clone()>
                    {m}
                </p>
            }
        })
    }
}
