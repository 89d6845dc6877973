//! Adjustments: an operator asks (applied at once below the threshold), a second
//! operator approves or rejects, the requester may withdraw. The four-eyes rule itself
//! lives in `domain::adjustment`.

use crate::model::error::AppError;
use crate::model::operator::{AdjustmentForm, AdjustmentOutcome, AdjustmentView, Decision};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// Submits the adjustment form for the account it names ("Adjust credits").
#[server(prefix = "/rpc", endpoint = "submit_adjustment")]
pub async fn submit_adjustment(form: AdjustmentForm) -> Result<AdjustmentOutcome, AppError> {
    use crate::domain::adjustment::{self, Operator};
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::AdjustCredits).await?;
    let (account, currency) = server::account_by_id(&call, &form.account_id).await?;
    let spec = form.validate(currency).map_err(AppError::Fields)?;
    let Some(token) = server::click_token(&form.token)? else {
        return Err(AppError::BadRequest(
            "The request is malformed; reload the page and try again.".into(),
        ));
    };
    adjustment::submit(
        &call.db,
        &account.id,
        &spec,
        token,
        Operator { user: &staff.user },
        &call.thresholds(),
        crate::domain::db::now(),
    )
    .await
    .map_err(adjustment_error)
}

/// Approves or rejects someone else's pending request ("Approve adjustments"), or
/// withdraws one's own ("Adjust credits").
#[server(prefix = "/rpc", endpoint = "decide_adjustment")]
pub async fn decide_adjustment(
    id: i64,
    decision: Decision,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    use crate::domain::adjustment::{self, Operator};
    let call = server::Call::begin().await?;
    let needed = match decision {
        Decision::Approve | Decision::Reject => Capability::ApproveAdjustments,
        Decision::Withdraw => Capability::AdjustCredits,
    };
    let staff = call.require_capability(needed).await?;
    if note.chars().count() > 300 {
        return Err(AppError::Invalid {
            field: "note".into(),
            problem: crate::model::problem::Problem::Worded(
                "Keep the note to 300 characters.".into(),
            ),
        });
    }
    adjustment::decide(
        &call.db,
        id,
        decision,
        &note,
        Operator { user: &staff.user },
        crate::domain::db::now(),
    )
    .await
    .map(|_| ())
    .map_err(adjustment_error)
}

/// Every request waiting for a second operator, oldest first.
#[server(prefix = "/rpc", endpoint = "pending_adjustments")]
pub async fn pending_adjustments() -> Result<Vec<AdjustmentView>, AppError> {
    use crate::domain::adjustment;
    use crate::domain::settings::LocalTime;
    let call = server::Call::begin().await?;
    let staff = call
        .require_capability(Capability::ApproveAdjustments)
        .await?;
    let now = crate::domain::db::now();
    let rows = adjustment::pending(call.db.conn(), now)
        .await
        .map_err(server::internal)?;
    adjustment::views(
        call.db.conn(),
        rows,
        Some(staff.user.id),
        true,
        LocalTime::of(&staff.user),
    )
    .await
    .map_err(server::internal)
}

/// A refused adjustment in words for the operator; our own failures stay ours.
#[cfg(feature = "ssr")]
fn adjustment_error(e: crate::domain::adjustment::AdjustmentError) -> AppError {
    use crate::domain::adjustment::AdjustmentError as E;
    let sentence = |e: &E| server::sentence(&e.to_string());
    match e {
        E::NoSuchAccount | E::NotFound => AppError::NotFound(sentence(&e)),
        E::OwnRequest | E::NotYours => AppError::NotAllowed(sentence(&e)),
        E::AlreadyDecided(_) | E::Expired(_) => AppError::Conflict(sentence(&e)),
        E::WouldGoNegative { .. } | E::CurrencyMismatch { .. } => AppError::Invalid {
            field: "amount".into(),
            problem: crate::model::problem::Problem::Worded(sentence(&e)),
        },
        E::Ledger(_) | E::Db(_) => server::internal(e),
    }
}
