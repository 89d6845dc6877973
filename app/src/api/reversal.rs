//! Reversals of charged-back top-ups: an operator opens one ("Adjust credits"), a
//! second operator approves or rejects it ("Approve adjustments"). The rules live in
//! `domain::reversal`; gateways' dispute events open them too.

use crate::model::error::AppError;
use crate::model::operator::ReversalView;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// Opens a reversal on a credited top-up of the account (by its payment reference).
#[server(prefix = "/rpc", endpoint = "open_reversal")]
pub async fn open_reversal(
    account_id: String,
    reference: String,
    reason: String,
) -> Result<(), AppError> {
    use crate::domain::audit::Actor;
    use crate::domain::{payment, reversal};
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::AdjustCredits).await?;
    let (account, _) = server::account_by_id(&call, &account_id).await?;
    let reason = reason.trim();
    if reason.chars().count() < 10 || reason.chars().count() > 500 {
        return Err(AppError::Invalid {
            field: "reason".into(),
            problem: crate::model::problem::Problem::Worded(
                "Write why in 10 to 500 characters (the dispute, the bank's notice).".into(),
            ),
        });
    }
    let reference = reference.trim();
    // Only this account's payments: a reference from another account is not found.
    if payment::of_account(call.db.conn(), &account.id, reference)
        .await
        .map_err(server::internal)?
        .is_none()
    {
        return Err(AppError::Invalid {
            field: "reference".into(),
            problem: crate::model::problem::Problem::Worded(
                "This account has no payment with this reference.".into(),
            ),
        });
    }
    reversal::open(
        &call.db,
        reference,
        reason,
        &Actor::user(&staff.user),
        Some(staff.user.id),
        crate::domain::db::now(),
    )
    .await
    .map(|_| ())
    .map_err(reversal_error)
}

/// Approves (takes the credits back) or rejects a pending reversal.
#[server(prefix = "/rpc", endpoint = "decide_reversal")]
pub async fn decide_reversal(
    id: i64,
    approve: bool,
    #[server(default)] note: String,
) -> Result<(), AppError> {
    use crate::domain::reversal;
    let call = server::Call::begin().await?;
    let staff = call
        .require_capability(Capability::ApproveAdjustments)
        .await?;
    let now = crate::domain::db::now();
    let done = if approve {
        reversal::approve(&call.db, id, &staff.user, now).await
    } else {
        reversal::reject(&call.db, id, &staff.user, note.trim(), now).await
    };
    done.map(|_| ()).map_err(reversal_error)
}

/// Every reversal waiting for approval, oldest first.
#[server(prefix = "/rpc", endpoint = "pending_reversals")]
pub async fn pending_reversals() -> Result<Vec<ReversalView>, AppError> {
    use crate::domain::reversal;
    let call = server::Call::begin().await?;
    let staff = call
        .require_capability(Capability::ApproveAdjustments)
        .await?;
    let rows = reversal::pending(call.db.conn())
        .await
        .map_err(server::internal)?;
    reversal::views(call.db.conn(), rows, &staff.user, true)
        .await
        .map_err(server::internal)
}

/// A refused reversal in words for the operator; our own failures stay ours.
#[cfg(feature = "ssr")]
fn reversal_error(e: crate::domain::reversal::ReversalError) -> AppError {
    use crate::domain::reversal::ReversalError as E;
    let sentence = server::sentence(&e.to_string());
    match e {
        E::NoSuchPayment(_) | E::NotFound => AppError::NotFound(sentence),
        E::NotCredited(_) => AppError::Invalid {
            field: "reference".into(),
            problem: crate::model::problem::Problem::Worded(sentence),
        },
        E::OwnRequest => AppError::NotAllowed(sentence),
        E::AlreadyDecided(_) => AppError::Conflict(sentence),
        E::Ledger(_) | E::Db(_) => server::internal(e),
    }
}
