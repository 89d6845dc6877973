//! The console's API keys page: the metering services' keys with what each may charge,
//! a form for a new one (shown once), and Revoke.

use super::browser;
use super::ops::{Field, Requires};
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{CreateApiKey, RevokeApiKey, api_keys};
use crate::model::billing::FieldError;
use crate::model::error::AppError;
use crate::model::operator::{ApiKeyForm, ApiKeyLine, Capability, CreatedApiKey};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApiKeys() -> impl IntoView {
    view! {
        <Requires capability=Capability::ManageApiKeys>
            <KeysPage />
        </Requires>
    }
}

#[component]
fn KeysPage() -> impl IntoView {
    view! {
        <Title text="API keys" />
        <KeysLive />
    }
}

/// The page's content: its list is read again after each change.
#[island(lazy)]
fn KeysLive() -> impl IntoView {
    super::island(Some("keys_live"));
    let list = page_resource(|| Resource::new(|| (), |_| api_keys()));
    let revoke = ServerAction::<RevokeApiKey>::new();
    Effect::new(move |_| {
        if revoke.value().get().is_some() {
            list.refetch();
        }
    });
    view! {
        <super::Controls>
            <NewKey on_created=move || list.refetch() />
            <section aria-labelledby="keys-heading">
                <h2 id="keys-heading">"API keys"</h2>
                <p class="muted">"Metering services charge accounts with these keys. Only their hashes are kept."</p>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || suspend(async move {
                        match list.await {
                            Ok(keys) if keys.is_empty() => view! { <p class="empty">"No keys yet."</p> }.into_any(),
                            Ok(keys) => view! { <KeyTable keys revoke /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </super::Controls>
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKeyLine>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <table aria-label="API keys" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Name"</th>
                    <th scope="col" role="columnheader">"May charge"</th>
                    <th scope="col" role="columnheader">"Largest charge"</th>
                    <th scope="col" role="columnheader">"Created"</th>
                    <th scope="col" role="columnheader">"State"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {keys
                    .into_iter()
                    .map(|k| {
                        let (id, name) = (k.id, k.name.clone());
                        let state = match k.revoked {
                            Some(when) => view! {
                                <span class="status status-failed">"Revoked"</span>
                                <span class="muted small block">{when}</span>
                            }
                                .into_any(),
                            None => view! {
                                <span class="status status-success">"Active"</span>
                                <button
                                    type="button"
                                    class="button-quiet"
                                    aria-label=format!("Revoke {name}")
                                    disabled=move || revoke.pending().get()
                                    on:click=move |_| {
                                        revoke.dispatch(RevokeApiKey { id });
                                    }
                                >
                                    "Revoke"
                                </button>
                            }
                                .into_any(),
                        };
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="Name">{k.name}</td>
                                <td role="cell" data-label="May charge">{k.services}</td>
                                <td role="cell" data-label="Largest charge">{k.limits}</td>
                                <td role="cell" data-label="Created">{k.created}</td>
                                <td role="cell" data-label="State">{state}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The new-key form; the key made is shown once, here.
#[component]
fn NewKey(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let fresh = || ApiKeyForm {
        model_fine_tuning: true,
        gpu_container: true,
        ai_inference: true,
        ..Default::default()
    };
    let form = RwSignal::new(fresh());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let created = RwSignal::new(None::<CreatedApiKey>);
    let create = ServerAction::<CreateApiKey>::new();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(done)) => {
            errors.set(Vec::new());
            created.set(Some(done));
            form.set(fresh());
            on_created();
            browser::focus_id("key-created");
        }
        Some(Err(AppError::Fields(list))) => errors.set(list),
        Some(Err(e)) => errors.set(vec![FieldError::text("form", e.to_string())]),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if create.pending().get_untracked() {
            return;
        }
        let typed = form.get_untracked();
        match typed.validate() {
            Err(list) => {
                errors.set(list);
                browser::focus_id("key-form-error");
            }
            Ok(_) => {
                errors.set(Vec::new());
                created.set(None);
                create.dispatch(CreateApiKey { form: typed });
            }
        }
    };
    let service = move |label: &'static str, get: fn(&mut ApiKeyForm) -> &mut bool| {
        view! {
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=move || {
                        form.track();
                        form.try_update_untracked(|f| *get(f)).unwrap_or(false)
                    }
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        form.update(|f| *get(f) = on);
                    }
                />
                {label}
            </label>
        }
    };
    let services_error = move || {
        errors.with(|list| {
            list.iter()
                .find(|e| e.field == "services")
                .map(|e| e.problem.to_string())
        })
    };
    let form_message = super::billing_form::form_message(errors);
    view! {
        <section aria-labelledby="new-key-heading" class="panel">
            <h2 id="new-key-heading">"Create an API key"</h2>
            {move || {
                created
                    .get()
                    .map(|done| {
                        view! {
                            <div class="form-success-box" role="status" id="key-created" tabindex="-1">
                                <p>{format!("Key “{}” created. Copy it now: it is shown only this once.", done.name)}</p>
                                <p><code class="code" aria-label="The new API key">{done.key}</code></p>
                            </div>
                        }
                    })
            }}
            <form class="campaign-form" novalidate on:submit=submit>
                <super::billing_form::FormProblem message=form_message id="key-form-error" />
                <Field form errors field="name" label="Name (the service that uses it)" get=|f: &mut ApiKeyForm| &mut f.name prefix="key" />
                <fieldset aria-describedby="key-services-error">
                    <legend>"May charge"</legend>
                    {service("Model Fine-tuning", |f| &mut f.model_fine_tuning)}
                    {service("GPU Container", |f| &mut f.gpu_container)}
                    {service("AI Inference", |f| &mut f.ai_inference)}
                    <p class="field-error" id="key-services-error">{services_error}</p>
                </fieldset>
                <fieldset>
                    <legend>"Largest single charge (empty: no limit; with any set, other currencies are refused)"</legend>
                    <div class="field-grid">
                        <Field form errors field="max_vnd" label="VND" get=|f: &mut ApiKeyForm| &mut f.max_vnd mode="numeric" prefix="key" />
                        <Field form errors field="max_jpy" label="JPY" get=|f: &mut ApiKeyForm| &mut f.max_jpy mode="numeric" prefix="key" />
                        <Field form errors field="max_usd" label="USD" get=|f: &mut ApiKeyForm| &mut f.max_usd mode="decimal" prefix="key" />
                        <Field form errors field="max_eur" label="EUR" get=|f: &mut ApiKeyForm| &mut f.max_eur mode="decimal" prefix="key" />
                    </div>
                </fieldset>
                <button
                    type="submit"
                    class="button-primary"
                    aria-busy=move || create.pending().get().to_string()
                    disabled=move || create.pending().get()
                >
                    "Create key"
                </button>
            </form>
        </section>
    }
}
