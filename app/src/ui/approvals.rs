//! The console's Approvals section: every adjustment waiting for a second operator,
//! oldest first, with Approve and Reject (never on one's own request).

use super::accounts::{AdjustmentTable, DecisionError};
use super::ops::Requires;
use super::page_resource::page_resource;
use super::reversals::{ReversalDecisionError, ReversalTable};
use super::suspend::suspend;
use crate::api::{DecideAdjustment, DecideReversal, pending_adjustments, pending_reversals};
use crate::model::operator::Capability;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Approvals() -> impl IntoView {
    view! {
        <Requires capability=Capability::ApproveAdjustments>
            <Queue />
        </Requires>
    }
}

#[component]
fn Queue() -> impl IntoView {
    view! {
        <Title text="Approvals" />
        <QueueLive />
    }
}

/// The page's content: its list is read again after each change.
#[island(lazy)]
fn QueueLive() -> impl IntoView {
    super::island(Some("queue_live"));
    let list = page_resource(|| Resource::new(|| (), |_| pending_adjustments()));
    let reversals = page_resource(|| Resource::new(|| (), |_| pending_reversals()));
    let decide = ServerAction::<DecideAdjustment>::new();
    let decide_reversal = ServerAction::<DecideReversal>::new();
    Effect::new(move |_| {
        if decide.value().get().is_some() {
            list.refetch();
        }
    });
    Effect::new(move |_| {
        if decide_reversal.value().get().is_some() {
            reversals.refetch();
        }
    });
    view! {
        <super::Controls>
            <section aria-labelledby="approvals-heading">
                <h2 id="approvals-heading">"Adjustments waiting for approval"</h2>
                <p class="muted">
                    "Adjustments at or above the threshold wait here for 7 days. You cannot decide on your own requests."
                </p>
                {move || {
                    decide
                        .value()
                        .get()
                        .and_then(Result::ok)
                        .map(|()| view! { <p class="form-success" role="status">"Decision recorded."</p> })
                }}
                <DecisionError decide />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || suspend(async move {
                        match list.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="empty">"Nothing is waiting for approval."</p>
                            }
                                .into_any(),
                            Ok(list) => view! { <AdjustmentTable list decide with_account=true /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            <section aria-labelledby="reversal-approvals-heading">
                <h2 id="reversal-approvals-heading">"Reversals waiting for approval"</h2>
                <ReversalDecisionError decide=decide_reversal />
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || suspend(async move {
                        match reversals.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="empty">"No reversal is waiting for approval."</p>
                            }
                                .into_any(),
                            Ok(list) => view! { <ReversalTable list decide=decide_reversal with_account=true /> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </super::Controls>
    }
}
