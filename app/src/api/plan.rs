//! Billing Plans: the tab, an upgrade's preview and confirmation, scheduling a
//! downgrade or cancellation and undoing it (always the signed-in customer's own
//! account); the catalogue for operators.

use crate::model::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::plan::Change;
use crate::model::plan::{PlanChanged, PlanForm, PlanSummary, PlansPage, UpgradePreview};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// The plans offered to the signed-in customer's account and where it stands.
#[server(prefix = "/rpc", endpoint = "plans")]
pub async fn get_plans() -> Result<PlansPage, AppError> {
    use crate::domain::{plan, settings::LocalTime};
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    plan::page(
        call.db.conn(),
        &account.id,
        currency,
        account.created_at,
        LocalTime::of(&user),
        crate::domain::db::now(),
    )
    .await
    .map_err(plan_error)
}

/// What upgrading to `plan` would charge now.
#[server(prefix = "/rpc", endpoint = "preview_plan_upgrade")]
pub async fn preview_plan_upgrade(plan: String) -> Result<UpgradePreview, AppError> {
    use crate::domain::{plan as plans, settings::LocalTime};
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    plans::preview_upgrade(
        call.db.conn(),
        &account.id,
        currency,
        account.created_at,
        plan.trim(),
        LocalTime::of(&user),
        crate::domain::db::now(),
    )
    .await
    .map_err(plan_error)
}

/// Upgrades to `plan` now, paying the prorated difference from the balance.
/// `expected_minor` is the amount the preview showed, in minor units (a higher charge is refused); `token` is the
/// Confirm click's (a double click charges once).
#[server(prefix = "/rpc", endpoint = "upgrade_plan")]
pub async fn upgrade_plan(
    plan: String,
    expected_minor: i64,
    #[server(default)] token: String,
) -> Result<PlanChanged, AppError> {
    use crate::domain::plan::{self as plans, UpgradeRequest};
    use crate::domain::settings::LocalTime;
    use crate::model::money::Money;
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    if expected_minor < 0 {
        return Err(AppError::BadRequest(
            "The amount shown is missing; reload the page.".into(),
        ));
    }
    let token = server::click_token(&token)?;
    let actor = format!("user:{}", user.id);
    let done = plans::upgrade(
        &call.db,
        &UpgradeRequest {
            account_id: &account.id,
            to_code: plan.trim(),
            token,
            expected: Some(Money::from_minor(expected_minor, currency)),
            actor: &actor,
            dates: LocalTime::of(&user),
        },
        crate::domain::db::now(),
    )
    .await
    .map_err(plan_error)?;
    Ok(PlanChanged {
        change: Change::Now {
            plan: done.to_name,
            paid: done.charged,
        },
        balances: Some(done.balances),
    })
}

/// Schedules a downgrade to `plan`, or with an empty `plan` a cancellation, for the
/// end of the period.
#[server(prefix = "/rpc", endpoint = "schedule_plan_change")]
pub async fn schedule_plan_change(plan: String) -> Result<PlanChanged, AppError> {
    use crate::domain::{plan as plans, settings::LocalTime};
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    let now = crate::domain::db::now();
    let code = plan.trim();
    let done = plans::schedule_change(
        &call.db,
        &account.id,
        (!code.is_empty()).then_some(code),
        &format!("user:{}", user.id),
        now,
    )
    .await
    .map_err(plan_error)?;
    let change = if done.applied {
        Change::Now {
            paid: crate::model::money::Money::zero(currency),
            plan: done.to_name,
        }
    } else if done.on <= now {
        Change::AfterRenewalPaid { plan: done.to_name }
    } else {
        Change::On {
            plan: done.to_name,
            on: LocalTime::of(&user).date(done.on),
        }
    };
    Ok(PlanChanged {
        change,
        balances: None,
    })
}

/// Undoes a scheduled downgrade or cancellation.
#[server(prefix = "/rpc", endpoint = "undo_plan_change")]
pub async fn undo_plan_change() -> Result<PlanChanged, AppError> {
    use crate::domain::plan;
    let call = server::Call::begin().await?;
    let (user, account, _) = call.require_account().await?;
    plan::undo_scheduled(
        &call.db,
        &account.id,
        &format!("user:{}", user.id),
        crate::domain::db::now(),
    )
    .await
    .map_err(plan_error)?;
    Ok(PlanChanged {
        change: Change::Undone,
        balances: None,
    })
}

/// The catalogue with each plan's subscribers (operators only).
#[server(prefix = "/rpc", endpoint = "plan_catalogue")]
pub async fn plan_catalogue() -> Result<Vec<PlanSummary>, AppError> {
    use crate::domain::plan;
    let call = server::Call::begin().await?;
    call.require_capability(Capability::ManagePlans).await?;
    plan::summaries(call.db.conn())
        .await
        .map_err(server::internal)
}

/// Creates a plan, or replaces the one with its code (operators only). The same check
/// as `server plan define`.
#[server(prefix = "/rpc", endpoint = "define_plan")]
pub async fn define_plan(form: PlanForm) -> Result<(), AppError> {
    use crate::domain::plan;
    use crate::model::billing::FieldError;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ManagePlans).await?;
    let spec = form.validate().map_err(AppError::Fields)?;
    let actor = crate::domain::audit::Actor::user(&staff.user);
    match plan::define(&call.db, &spec, &actor, crate::domain::db::now()).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_user_error() => Err(AppError::Fields(vec![FieldError::text(
            "form",
            e.to_string(),
        )])),
        Err(e) => Err(server::internal(e)),
    }
}

/// A refused plan change, in words for the customer; our own failures stay ours.
#[cfg(feature = "ssr")]
fn plan_error(e: crate::domain::plan::PlanError) -> AppError {
    use crate::domain::plan::PlanError;
    use crate::model::problem::Problem;
    let problem = match e {
        PlanError::UnknownPlan(code) => Problem::UnknownPlan(code),
        PlanError::NotOffered(name, currency) => Problem::PlanNotOffered(name, currency),
        PlanError::AlreadyOn(name) => Problem::AlreadyOnPlan(name),
        PlanError::NotAnUpgrade(name) => Problem::NotAnUpgrade(name),
        PlanError::NotADowngrade(name) => Problem::NotADowngrade(name),
        PlanError::RenewalUnpaid(name) => Problem::RenewalUnpaid(name),
        PlanError::Renewing => Problem::PlanRenewing,
        PlanError::NothingToCancel => Problem::NothingToCancel,
        PlanError::NothingScheduled => Problem::NothingScheduled,
        PlanError::Short(shortfall) => Problem::BalanceShort(shortfall.missing),
        PlanError::PriceChanged(now) => Problem::PriceChanged(now),
        PlanError::Catalogue(message) => Problem::Worded(message),
        e @ (PlanError::Ledger(_) | PlanError::Db(_)) => return server::internal(e),
    };
    AppError::Invalid {
        field: "plan".into(),
        problem,
    }
}
