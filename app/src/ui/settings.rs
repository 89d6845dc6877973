//! The Settings tab: billing information and tax (the billing fields shared with Add
//! credit), display preferences (language, time zone, date format), the fixed currency
//! with its reason, and the recent changes with who made them.

use super::billing_form::{BillingFields, FieldMessage, message_for};
use super::browser;
use super::language::use_locale;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{SaveBillingSettings, SavePreferences, get_settings};
use crate::i18n::*;
use crate::model::billing::{BillingForm, FieldError};
use crate::model::error::AppError;
use crate::model::settings::{DateFormat, Language, PreferencesForm, SettingsPage};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsTab() -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, settings.title) />
        <SettingsLive />
    }
}

/// The tab's content: the sections are drawn again after a save.
#[island(lazy)]
fn SettingsLive() -> impl IntoView {
    super::island(Some("settings_live"));
    let locale = use_locale();
    let settings = page_resource(|| Resource::new(|| (), |_| get_settings()));
    // Outside the sections, which are drawn again from the saved settings: the
    // confirmation stays on screen.
    let saved = Saved {
        settings,
        notice: RwSignal::new(None),
    };
    view! {
        <super::Controls>
            <section aria-labelledby="settings-heading">
                <h2 id="settings-heading">{td_string!(locale, settings.title)}</h2>
                <p role="status" class="form-success" id="settings-saved">
                    {move || saved.notice.get()}
                </p>
                <Transition fallback=move || view! { <p class="loading">{td_string!(locale, loading)}</p> }>
                    {move || suspend(async move {
                        match settings.await {
                            Ok(page) => view! { <Settings page saved /> }.into_any(),
                            Err(error) => view! { <super::messages::Failed error /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </super::Controls>
    }
}

/// After a save: say so, and read the settings (and their change log) again.
#[derive(Clone, Copy)]
struct Saved {
    settings: Resource<Result<SettingsPage, AppError>>,
    notice: RwSignal<Option<&'static str>>,
}

impl Saved {
    fn done(self, message: &'static str) {
        self.notice.set(Some(message));
        self.settings.refetch();
    }
}

#[component]
fn Settings(page: SettingsPage, saved: Saved) -> impl IntoView {
    let locale = use_locale();
    let last_changed = page.changes.first().map(|c| c.when.clone());
    view! {
        <p class="muted" data-testid="settings-last-changed">
            {match last_changed {
                Some(when) => td_string!(locale, settings.last_changed, when).to_string(),
                None => td_string!(locale, settings.never_changed).to_owned(),
            }}
        </p>
        {match page.billing.clone() {
            Some(form) => view! { <BillingSection form held=page.currency countries=page.countries.clone() saved /> }.into_any(),
            None => view! {
                <section aria-labelledby="billing-info-heading" class="settings-section">
                    <h3 id="billing-info-heading">{td_string!(locale, settings.billing_heading)}</h3>
                    <p class="empty">{td_string!(locale, settings.no_profile)}</p>
                </section>
            }
                .into_any(),
        }}
        <PreferencesSection page=page.clone() saved />
        <ChangeLog page />
    }
}

#[component]
fn BillingSection(
    form: BillingForm,
    held: Option<crate::model::money::Currency>,
    countries: Vec<(String, String)>,
    saved: Saved,
) -> impl IntoView {
    let locale = use_locale();
    let form = RwSignal::new(form);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let save = ServerAction::<SaveBillingSettings>::new();
    Effect::new(move |_| {
        let Some(answer) = save.value().get() else {
            return;
        };
        match answer {
            Ok(()) => saved.done(td_string!(locale, settings.billing_saved)),
            Err(AppError::Fields(list)) => errors.set(list),
            Err(e) => errors.set(vec![FieldError::text(
                "form",
                super::messages::error(locale, &e),
            )]),
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.notice.set(None);
        let typed = form.get_untracked();
        match typed.validate() {
            Err(list) => {
                errors.set(list);
                browser::focus_id("billing-form-error");
            }
            Ok(_) => {
                errors.set(Vec::new());
                save.dispatch(SaveBillingSettings { form: typed });
            }
        }
    };
    let form_message = super::billing_form::form_message(errors);
    view! {
        <section aria-labelledby="billing-info-heading" class="settings-section">
            <h3 id="billing-info-heading">{td_string!(locale, settings.billing_and_tax)}</h3>
            <form class="settings-form" novalidate on:submit=submit>
                <super::billing_form::FormProblem message=form_message id="billing-form-error" />
                <BillingFields form errors held countries />
                <div class="form-actions">
                    <button type="submit" class="button-primary" disabled=move || save.pending().get()>
                        {td_string!(locale, settings.save_billing)}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn PreferencesSection(page: SettingsPage, saved: Saved) -> impl IntoView {
    let locale = use_locale();
    let form = RwSignal::new(page.preferences.clone());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let save = ServerAction::<SavePreferences>::new();
    let zones = StoredValue::new(page.time_zones.clone());
    Effect::new(move |_| {
        let Some(answer) = save.value().get() else {
            return;
        };
        match answer {
            Ok(()) => {
                // A new language shows on the whole page, header included: load it again.
                let chosen = form.with_untracked(|f| Language::parse(&f.language));
                if chosen.is_some_and(|l| l != Language::from(locale)) {
                    browser::reload();
                }
                saved.done(td_string!(locale, settings.preferences_saved));
            }
            Err(AppError::Fields(list)) => errors.set(list),
            Err(e) => errors.set(vec![FieldError::text(
                "time_zone",
                super::messages::error(locale, &e),
            )]),
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.notice.set(None);
        let typed = form.get_untracked();
        let checked = zones.with_value(|z| {
            let names: Vec<&str> = z.iter().map(String::as_str).collect();
            typed.validate(&names).map(|_| ())
        });
        match checked {
            Err(list) => errors.set(list),
            Ok(()) => {
                errors.set(Vec::new());
                save.dispatch(SavePreferences { form: typed });
            }
        }
    };
    let set = move |apply: fn(&mut PreferencesForm, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| apply(f, value));
        }
    };
    let suggested = page.suggested_time_zone.clone();
    let zone_message = message_for(errors, "time_zone");
    view! {
        <section aria-labelledby="preferences-heading" class="settings-section">
            <h3 id="preferences-heading">{td_string!(locale, settings.preferences_heading)}</h3>
            <form class="settings-form" novalidate on:submit=submit>
                <label for="pref-language">{td_string!(locale, settings.language)}</label>
                <select
                    id="pref-language"
                    prop:value=move || form.with(|f| f.language.clone())
                    on:change=set(|f, v| f.language = v)
                >
                    {Language::ALL
                        .into_iter()
                        .map(|l| view! { <option value=l.as_str() lang=l.as_str()>{l.label()}</option> })
                        .collect_view()}
                </select>
                <FieldMessage id="pref-language-error".into() message=message_for(errors, "language") />
                <label for="pref-time-zone">{td_string!(locale, settings.time_zone)}</label>
                <select
                    id="pref-time-zone"
                    prop:value=move || form.with(|f| f.time_zone.clone())
                    aria-describedby="pref-time-zone-note"
                    aria-invalid=move || zone_message.get().is_some().then_some("true")
                    on:change=set(|f, v| f.time_zone = v)
                >
                    {page
                        .time_zones
                        .iter()
                        .map(|z| view! { <option value=z.clone()>{z.clone()}</option> })
                        .collect_view()}
                </select>
                <p class="muted small" id="pref-time-zone-note">
                    {td_string!(locale, settings.time_zone_note)}
                    {suggested
                        .map(|zone| {
                            let pick = zone.clone();
                            view! {
                                " "
                                <button
                                    type="button"
                                    class="link-button"
                                    on:click=move |_| form.update(|f| f.time_zone = pick.clone())
                                >
                                    {td_string!(locale, settings.use_zone, zone).to_string()}
                                </button>
                            }
                        })}
                </p>
                <FieldMessage id="pref-time-zone-error".into() message=zone_message />
                <label for="pref-date-format">{td_string!(locale, settings.date_format)}</label>
                <select
                    id="pref-date-format"
                    prop:value=move || form.with(|f| f.date_format.clone())
                    on:change=set(|f, v| f.date_format = v)
                >
                    {DateFormat::ALL
                        .into_iter()
                        .map(|d| {
                            let label = super::messages::date_format(locale, d);
                            view! { <option value=d.as_str()>{label}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldMessage id="pref-date-format-error".into() message=message_for(errors, "date_format") />
                <p class="muted small">
                    {match page.currency {
                        Some(c) => {
                            td_string!(locale, settings.currency_fixed, currency = c.code()).to_string()
                        }
                        None => td_string!(locale, settings.currency_later).to_owned(),
                    }}
                </p>
                <div class="form-actions">
                    <button type="submit" class="button-primary" disabled=move || save.pending().get()>
                        {td_string!(locale, settings.save_preferences)}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn ChangeLog(page: SettingsPage) -> impl IntoView {
    let locale = use_locale();
    let [when, who, setting, from, to] = [
        td_string!(locale, settings.when),
        td_string!(locale, settings.who),
        td_string!(locale, settings.setting),
        td_string!(locale, settings.from),
        td_string!(locale, settings.to),
    ];
    view! {
        <section aria-labelledby="changes-heading" class="settings-section">
            <h3 id="changes-heading">{td_string!(locale, settings.changes_heading)}</h3>
            {if page.changes.is_empty() {
                view! { <p class="empty">{td_string!(locale, settings.no_changes)}</p> }.into_any()
            } else {
                view! {
                    <table aria-label=td_string!(locale, settings.changes_heading) role="table" class="cards-on-phone">
                        <thead role="rowgroup">
                            <tr role="row">
                                <th scope="col" role="columnheader">{when}</th>
                                <th scope="col" role="columnheader">{who}</th>
                                <th scope="col" role="columnheader">{setting}</th>
                                <th scope="col" role="columnheader">{from}</th>
                                <th scope="col" role="columnheader">{to}</th>
                            </tr>
                        </thead>
                        <tbody role="rowgroup">
                            {page
                                .changes
                                .into_iter()
                                .map(|c| {
                                    view! {
                                        <tr role="row">
                                            <td role="cell" data-label=when class="nowrap">{c.when}</td>
                                            <td role="cell" data-label=who>{c.who}</td>
                                            <td role="cell" data-label=setting>{c.field}</td>
                                            <td role="cell" data-label=from>{c.from}</td>
                                            <td role="cell" data-label=to>{c.to}</td>
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
