//! The operator console's frame: its tabs (one per capability the operator holds), the
//! gate each page stands behind, and the Vouchers page (campaigns with their figures,
//! create one, disable one, download a new batch's codes once). The other pages:
//! Accounts (`accounts.rs`), Approvals (`approvals.rs`), Audit log (`audit_log.rs`),
//! Plans (`plan_catalogue.rs`), API keys (`api_keys.rs`). Customers are refused, as the server functions refuse
//! them; an operator without a page's capability sees why.

use super::browser;
use super::header::ViewerResource;
use super::page_resource::page_resource;
use super::suspend::suspend;
use crate::api::{CreateVoucherCampaign, DisableVoucherCampaign, voucher_campaigns};
use crate::model::billing::FieldError;
use crate::model::error::AppError;
use crate::model::operator::Capability;
use crate::model::session::Role;
use crate::model::voucher::{CampaignForm, CampaignSummary, CreatedCampaign, WEB_BATCH_MAX};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;

/// Where an operator starts: the account lookup.
pub const HOME: &str = "/ops";

/// The console around its pages: operators only.
#[component]
pub fn OpsPage() -> impl IntoView {
    // Read as it stands: the signed-in layout awaited the viewer before drawing this
    // page (see `billing::BillingPage`).
    let viewer = expect_context::<ViewerResource>();
    let operator =
        matches!(viewer.get_untracked(), Some(Ok(Some(me))) if me.role == Role::Operator);
    if operator {
        return view! {
            <main class="page">
                <h1>"Operator console"</h1>
                <ConsoleTabs />
                <Outlet />
            </main>
        }
        .into_any();
    }
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Operator console" />
        <main class="narrow">
            <h1>"Operator console"</h1>
            <p role="alert">{AppError::Forbidden.to_string()}</p>
            <p>"The console is for operators. " <a href="/billing">"Go to Billing Management"</a></p>
        </main>
    }
    .into_any()
}

/// The capabilities of the signed-in operator, as the layout read them.
pub fn held() -> Vec<Capability> {
    let viewer = expect_context::<ViewerResource>();
    match viewer.get_untracked() {
        Some(Ok(Some(me))) if me.role == Role::Operator => me.capabilities,
        _ => Vec::new(),
    }
}

/// The console's sections, each shown only to operators holding its capability.
const SECTIONS: [(&str, &str, Capability); 6] = [
    (HOME, "Accounts", Capability::ViewAccounts),
    (
        "/ops/approvals",
        "Approvals",
        Capability::ApproveAdjustments,
    ),
    ("/ops/audit", "Audit log", Capability::ViewAccounts),
    ("/ops/vouchers", "Vouchers", Capability::ManageVouchers),
    ("/ops/plans", "Plans", Capability::ManagePlans),
    ("/ops/api-keys", "API keys", Capability::ManageApiKeys),
];

#[component]
fn ConsoleTabs() -> impl IntoView {
    let path = leptos_router::hooks::use_location().pathname;
    let held = held();
    let current = move |href: &'static str| {
        let now = path.get();
        // Accounts stays current on an account's pages.
        let on = if href == HOME {
            now == HOME || now.starts_with("/ops/accounts/")
        } else {
            now == href
        };
        on.then_some("page")
    };
    view! {
        <nav class="tabs" aria-label="Console sections">
            {SECTIONS
                .iter()
                .filter(|(_, _, needs)| held.contains(needs))
                .map(|(href, label, _)| {
                    let href = *href;
                    view! { <a href=href aria-current=move || current(href)>{*label}</a> }
                })
                .collect_view()}
        </nav>
    }
}

/// Shows `children` only to an operator holding `capability`; anyone else reads why
/// (and the server answers 403), as the page's server functions would refuse them.
#[component]
pub fn Requires(capability: Capability, children: ChildrenFn) -> impl IntoView {
    if held().contains(&capability) {
        return children().into_any();
    }
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Operator console" />
        <p role="alert" class="form-error">{AppError::MissingCapability(capability).to_string()}</p>
    }
    .into_any()
}

/// Campaigns: the list with figures, and the create form.
#[component]
pub fn Campaigns() -> impl IntoView {
    view! {
        <Requires capability=Capability::ManageVouchers>
            <CampaignsPage />
        </Requires>
    }
}

#[component]
fn CampaignsPage() -> impl IntoView {
    view! {
        <Title text="Vouchers" />
        <CampaignsLive />
    }
}

/// The page's content: its list is read again after each change.
#[island(lazy)]
fn CampaignsLive() -> impl IntoView {
    super::island(Some("campaigns_live"));
    let refresh = RwSignal::new(0_u32);
    let list = page_resource(|| Resource::new(move || refresh.get(), |_| voucher_campaigns()));
    let disable = ServerAction::<DisableVoucherCampaign>::new();
    Effect::new(move |_| {
        if disable.value().get().is_some() {
            refresh.update(|n| *n += 1);
        }
    });
    view! {
        <super::Controls>
            <CreateCampaign on_created=move || refresh.update(|n| *n += 1) />
            <section aria-labelledby="campaigns-heading">
                <h2 id="campaigns-heading">"Campaigns"</h2>
                {move || {
                    disable
                        .value()
                        .get()
                        .and_then(Result::err)
                        .map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
                }}
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || suspend(async move {
                        match list.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="empty">"No campaigns yet. Create one above."</p>
                            }
                                .into_any(),
                            Ok(list) => view! { <CampaignTable list disable /> }.into_any(),
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
fn CampaignTable(
    list: Vec<CampaignSummary>,
    disable: ServerAction<DisableVoucherCampaign>,
) -> impl IntoView {
    let join = |items: Vec<String>| {
        if items.is_empty() {
            "—".to_owned()
        } else {
            items.join(", ")
        }
    };
    view! {
        <table aria-label="Campaigns" role="table" class="cards-on-phone">
            <thead role="rowgroup">
                <tr role="row">
                    <th scope="col" role="columnheader">"Campaign"</th>
                    <th scope="col" role="columnheader">"Code"</th>
                    <th scope="col" role="columnheader">"Amount"</th>
                    <th scope="col" role="columnheader">"Valid"</th>
                    <th scope="col" role="columnheader">"Credits expire"</th>
                    <th scope="col" role="columnheader" class="num">"Redeemed"</th>
                    <th scope="col" role="columnheader">"Granted · spent · expired · remaining"</th>
                    <th scope="col" role="columnheader">"State"</th>
                </tr>
            </thead>
            <tbody role="rowgroup">
                {list
                    .into_iter()
                    .map(|c| {
                        let redeemed = match c.max_redemptions {
                            Some(cap) => format!("{} / {cap}", c.redemptions),
                            None => format!("{} / no cap", c.redemptions),
                        };
                        let figures = join(
                            c
                                .figures
                                .iter()
                                .map(|f| {
                                    format!("{} · {} · {} · {}", f.granted, f.spent, f.expired, f.remaining)
                                })
                                .collect(),
                        );
                        let (id, name) = (c.id, c.name.clone());
                        view! {
                            <tr role="row">
                                <td role="cell" data-label="Campaign">
                                    <strong>{c.name}</strong>
                                    <span class="muted small block">{c.description}</span>
                                </td>
                                <td role="cell" data-label="Code" class="code">{c.codes}</td>
                                <td role="cell" data-label="Amount">
                                    {join(c.amounts.iter().map(ToString::to_string).collect())}
                                </td>
                                <td role="cell" data-label="Valid">{c.window}</td>
                                <td role="cell" data-label="Credits expire">{c.credit_expiry}</td>
                                <td role="cell" data-label="Redeemed" class="num">
                                    {redeemed}
                                    <span class="muted small block">
                                        {format!("{} per account", c.per_account_limit)}
                                    </span>
                                </td>
                                <td role="cell" data-label="Granted · spent · expired · remaining">{figures}</td>
                                <td role="cell" data-label="State">
                                    {if c.enabled {
                                        view! {
                                            <span class="status status-success">"Enabled"</span>
                                            <button
                                                type="button"
                                                class="button-quiet"
                                                aria-label=format!("Disable {name}")
                                                disabled=move || disable.pending().get()
                                                on:click=move |_| {
                                                    disable.dispatch(DisableVoucherCampaign { id });
                                                }
                                            >
                                                "Disable"
                                            </button>
                                        }
                                            .into_any()
                                    } else {
                                        view! { <span class="status status-failed">"Disabled"</span> }
                                            .into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The create-campaign form: checked as the server checks it, each problem beside its
/// field. A batch's codes are offered for download once, here.
#[component]
fn CreateCampaign(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let form = RwSignal::new(CampaignForm {
        kind: "shared".into(),
        expiry: "never".into(),
        per_account_limit: "1".into(),
        ..Default::default()
    });
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let created = RwSignal::new(None::<CreatedCampaign>);
    let create = ServerAction::<CreateVoucherCampaign>::new();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(done)) => {
            errors.set(Vec::new());
            created.set(Some(done));
            form.update(|f| {
                *f = CampaignForm {
                    kind: f.kind.clone(),
                    expiry: "never".into(),
                    per_account_limit: "1".into(),
                    ..Default::default()
                };
            });
            on_created();
            browser::focus_id("campaign-created");
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
        match typed.validate(WEB_BATCH_MAX) {
            Err(list) => {
                errors.set(list);
                browser::focus_id("campaign-form-error");
            }
            Ok(_) => {
                errors.set(Vec::new());
                created.set(None);
                create.dispatch(CreateVoucherCampaign { form: typed });
            }
        }
    };
    let kind = move || form.with(|f| f.kind.clone());
    let expiry = move || form.with(|f| f.expiry.clone());
    let form_message = super::billing_form::form_message(errors);
    view! {
        <section aria-labelledby="create-heading" class="panel">
            <h2 id="create-heading">"Create a campaign"</h2>
            {move || created.get().map(|done| view! { <Created done /> })}
            <form class="campaign-form" novalidate on:submit=submit>
                <super::billing_form::FormProblem message=form_message id="campaign-form-error" />
                <Field form errors field="name" label="Name" get=|f| &mut f.name />
                <Field
                    form
                    errors
                    field="description"
                    label="Description the customer sees"
                    get=|f| &mut f.description
                />
                <fieldset>
                    <legend>"Amount per currency (an account in a currency left empty cannot redeem it)"</legend>
                    <div class="field-grid">
                        <Field form errors field="amount_vnd" label="VND" get=|f| &mut f.amount_vnd mode="numeric" />
                        <Field form errors field="amount_jpy" label="JPY" get=|f| &mut f.amount_jpy mode="numeric" />
                        <Field form errors field="amount_usd" label="USD" get=|f| &mut f.amount_usd mode="decimal" />
                        <Field form errors field="amount_eur" label="EUR" get=|f| &mut f.amount_eur mode="decimal" />
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"Codes"</legend>
                    <Choice form field="kind" value="shared" label="One shared code" get=|f| &mut f.kind />
                    <Choice
                        form
                        field="kind"
                        value="batch"
                        label="A batch of single-use codes"
                        get=|f| &mut f.kind
                    />
                    {move || {
                        if kind() == "batch" {
                            view! {
                                <Field
                                    form
                                    errors
                                    field="count"
                                    label=format!("How many codes (up to {WEB_BATCH_MAX})")
                                    get=|f| &mut f.count
                                    mode="numeric"
                                />
                            }
                                .into_any()
                        } else {
                            view! {
                                <Field
                                    form
                                    errors
                                    field="code"
                                    label="Shared code (4 to 16 letters and digits, e.g. WELCOME-2026)"
                                    get=|f| &mut f.code
                                />
                            }
                                .into_any()
                        }
                    }}
                </fieldset>
                <fieldset>
                    <legend>"When it can be redeemed (UTC days; empty for no limit)"</legend>
                    <div class="field-grid">
                        <Field form errors field="valid_from" label="First day" get=|f| &mut f.valid_from kind="date" />
                        <Field form errors field="valid_until" label="Last day" get=|f| &mut f.valid_until kind="date" />
                    </div>
                </fieldset>
                <fieldset>
                    <legend>"When the credits expire"</legend>
                    <Choice form field="expiry" value="never" label="Never" get=|f| &mut f.expiry />
                    <Choice form field="expiry" value="date" label="On a date" get=|f| &mut f.expiry />
                    <Choice
                        form
                        field="expiry"
                        value="days"
                        label="A number of days after redemption"
                        get=|f| &mut f.expiry
                    />
                    {move || match expiry().as_str() {
                        "date" => view! {
                            <Field
                                form
                                errors
                                field="expires_on"
                                label="Expiry day (UTC, end of day)"
                                get=|f| &mut f.expires_on
                                kind="date"
                            />
                        }
                            .into_any(),
                        "days" => view! {
                            <Field
                                form
                                errors
                                field="expires_after_days"
                                label="Days after redemption"
                                get=|f| &mut f.expires_after_days
                                mode="numeric"
                            />
                        }
                            .into_any(),
                        _ => ().into_any(),
                    }}
                </fieldset>
                <div class="field-grid">
                    <Field
                        form
                        errors
                        field="max_redemptions"
                        label="Total redemptions cap (empty: no cap)"
                        get=|f| &mut f.max_redemptions
                        mode="numeric"
                    />
                    <Field
                        form
                        errors
                        field="per_account_limit"
                        label="Redemptions per account"
                        get=|f| &mut f.per_account_limit
                        mode="numeric"
                    />
                </div>
                <button
                    type="submit"
                    class="button-primary"
                    aria-busy=move || create.pending().get().to_string()
                    disabled=move || create.pending().get()
                >
                    "Create campaign"
                </button>
            </form>
        </section>
    }
}

/// The campaign just made; a batch's codes as a CSV download, this once.
#[component]
fn Created(done: CreatedCampaign) -> impl IntoView {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let count = done.codes.len();
    let href = format!(
        "data:text/csv;charset=utf-8,{}",
        utf8_percent_encode(&done.csv(), NON_ALPHANUMERIC)
    );
    let file = format!("voucher-campaign-{}-codes.csv", done.id);
    view! {
        <div class="form-success-box" role="status" id="campaign-created" tabindex="-1">
            <p>{format!("Campaign “{}” created.", done.name)}</p>
            {(count > 0)
                .then(|| {
                    view! {
                        <p>
                            {format!(
                                "Its {count} codes are shown only now: we keep just their hashes. Download them before leaving this page. ",
                            )}
                            <a href=href download=file class="button-primary">
                                "Download codes (CSV)"
                            </a>
                        </p>
                    }
                })}
        </div>
    }
}

/// A labelled input bound to one text field of a form (`T`), its error beside it. The
/// input's id is `{prefix}-{field}`.
#[component]
pub fn Field<T: Send + Sync + 'static>(
    form: RwSignal<T>,
    errors: RwSignal<Vec<FieldError>>,
    field: &'static str,
    #[prop(into)] label: String,
    get: fn(&mut T) -> &mut String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] mode: Option<&'static str>,
    #[prop(default = "campaign")] prefix: &'static str,
    #[prop(optional)] multiline: bool,
) -> impl IntoView {
    let id = format!("{prefix}-{field}");
    let error_id = format!("{id}-error");
    let message = move || {
        errors.with(|list| {
            list.iter()
                .find(|e| e.field == field)
                .map(|e| e.problem.to_string())
        })
    };
    // Read through `get` without copying the whole form: tracked, then borrowed.
    let value = move || {
        form.track();
        form.try_update_untracked(|f| get(f).clone())
            .unwrap_or_default()
    };
    let set = move |ev: leptos::ev::Event| {
        let typed = event_target_value(&ev);
        form.update(|f| *get(f) = typed);
    };
    let input = if multiline {
        view! {
            <textarea
                id=id.clone()
                name=field
                rows="3"
                prop:value=value
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=error_id.clone()
                on:input=set
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id.clone()
                name=field
                type=kind
                inputmode=mode
                prop:value=value
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=error_id.clone()
                on:input=set
            />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {input}
            <p class="field-error" id=error_id>
                {message}
            </p>
        </div>
    }
}

/// A radio button setting one field of a form (`T`).
#[component]
pub fn Choice<T: Send + Sync + 'static>(
    form: RwSignal<T>,
    field: &'static str,
    value: &'static str,
    label: &'static str,
    get: fn(&mut T) -> &mut String,
) -> impl IntoView {
    let checked = move || {
        form.track();
        form.try_update_untracked(|f| get(f) == value)
            .unwrap_or(false)
    };
    view! {
        <label class="check">
            <input
                type="radio"
                name=field
                value=value
                prop:checked=checked
                on:change=move |_| form.update(|f| *get(f) = value.to_owned())
            />
            {label}
        </label>
    }
}
