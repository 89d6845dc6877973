//! Vouchers: Apply Code and the Voucher List for customers; campaigns for operators.

use crate::model::error::AppError;
use crate::model::voucher::{
    CampaignForm, CampaignSummary, CreatedCampaign, Redeemed, VoucherList,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server;
#[cfg(feature = "ssr")]
use crate::model::operator::Capability;

/// Apply Code: redeems a voucher code for the signed-in customer's account. `token` is
/// the click's idempotency token (a double click grants once).
#[server(prefix = "/rpc", endpoint = "redeem_voucher")]
pub async fn redeem_voucher(
    code: String,
    #[server(default)] token: String,
) -> Result<Redeemed, AppError> {
    use crate::domain::settings::LocalTime;
    use crate::domain::voucher::{self, RedeemError};
    use crate::model::problem::Problem;
    use crate::model::voucher::{CodeError, read_code};
    let call = server::Call::begin().await?;
    let user = call.require_customer().await?;
    let invalid = |problem: Problem| AppError::Invalid {
        field: "code".into(),
        problem,
    };
    // A typo is found without the database, and is not counted against anyone.
    let typed = read_code(&code).map_err(|e| invalid(Problem::Code(e)))?;
    let Some((account, _)) = call.account_of(&user).await? else {
        return Err(invalid(Problem::VoucherNeedsProfile));
    };
    let token = server::click_token(&token)?;
    let redeemed = voucher::redeem(
        &call.db,
        &account.id,
        &typed,
        token,
        &call.client_ip,
        LocalTime::of(&user),
        crate::domain::db::now(),
    )
    .await;
    match redeemed {
        Ok(done) => Ok(done.redeemed),
        Err(RedeemError::Throttled(wait)) => Err(AppError::TooManyAttempts {
            minutes: wait.minutes(),
        }),
        Err(e @ (RedeemError::Ledger(_) | RedeemError::Db(_))) => Err(server::internal(e)),
        Err(RedeemError::Unknown) => Err(invalid(Problem::Code(CodeError::NotACode))),
        Err(RedeemError::Disabled) => Err(invalid(Problem::VoucherDisabled)),
        Err(RedeemError::NotYetValid(from)) => Err(invalid(Problem::VoucherNotYetValid(from))),
        Err(RedeemError::Ended) => Err(invalid(Problem::VoucherEnded)),
        Err(RedeemError::FullyRedeemed) => Err(invalid(Problem::VoucherFullyRedeemed)),
        Err(RedeemError::AlreadyRedeemed) => Err(invalid(Problem::VoucherAlreadyRedeemed)),
        Err(RedeemError::NotInCurrency(c)) => Err(invalid(Problem::VoucherNotInCurrency(c))),
    }
}

/// The signed-in customer's Voucher List.
#[server(prefix = "/rpc", endpoint = "voucher_list")]
pub async fn get_voucher_list() -> Result<VoucherList, AppError> {
    use crate::domain::settings::LocalTime;
    use crate::domain::voucher;
    let call = server::Call::begin().await?;
    let (user, account, currency) = call.require_account().await?;
    voucher::list_for_account(
        call.db.conn(),
        &account.id,
        currency,
        LocalTime::of(&user),
        crate::domain::db::now(),
    )
    .await
    .map_err(server::internal)
}

/// Every campaign with its figures (operators only).
#[server(prefix = "/rpc", endpoint = "voucher_campaigns")]
pub async fn voucher_campaigns() -> Result<Vec<CampaignSummary>, AppError> {
    use crate::domain::voucher;
    let call = server::Call::begin().await?;
    call.require_capability(Capability::ManageVouchers).await?;
    voucher::campaigns(call.db.conn())
        .await
        .map_err(server::internal)
}

/// Creates a campaign (operators only). A batch's codes come back this once.
#[server(prefix = "/rpc", endpoint = "create_voucher_campaign")]
pub async fn create_voucher_campaign(form: CampaignForm) -> Result<CreatedCampaign, AppError> {
    use crate::domain::voucher::{self, CampaignError};
    use crate::model::billing::FieldError;
    use crate::model::voucher::WEB_BATCH_MAX;
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ManageVouchers).await?;
    let campaign = form.validate(WEB_BATCH_MAX).map_err(AppError::Fields)?;
    let actor = crate::domain::audit::Actor::user(&staff.user);
    match voucher::create_campaign(&call.db, &campaign, &actor, crate::domain::db::now()).await {
        Ok(created) => Ok(created),
        Err(e @ CampaignError::CodeTaken(_)) => Err(AppError::Fields(vec![FieldError::text(
            "code",
            format!("{}; choose another.", capitalised(&e.to_string())),
        )])),
        Err(e) => Err(server::internal(e)),
    }
}

#[cfg(feature = "ssr")]
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Disables a campaign (operators only): its codes stop working; granted credits stay.
#[server(prefix = "/rpc", endpoint = "disable_voucher_campaign")]
pub async fn disable_voucher_campaign(id: i64) -> Result<(), AppError> {
    use crate::domain::voucher::{self, CampaignError};
    let call = server::Call::begin().await?;
    let staff = call.require_capability(Capability::ManageVouchers).await?;
    let actor = crate::domain::audit::Actor::user(&staff.user);
    match voucher::disable(&call.db, id, &actor, crate::domain::db::now()).await {
        Ok(()) => Ok(()),
        Err(CampaignError::NotFound(_)) => {
            Err(AppError::NotFound("There is no such campaign.".into()))
        }
        Err(e) => Err(server::internal(e)),
    }
}
