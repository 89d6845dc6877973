//! Errors in the reader's language: the one place a typed [`AppError`] or [`Problem`]
//! becomes text on a page. The English `Display` of the same values stays for the
//! usage API and the logs.

use crate::i18n::*;
use crate::model::error::AppError;
use crate::model::ledger::{Bucket, Service, Status};
use crate::model::money::AmountError;
use crate::model::problem::Problem;
use crate::model::top_up::{PaymentStatus, TopUpAmountError};
use crate::model::voucher::CodeError;

type I18n = leptos_i18n::I18nContext<Locale>;

/// A translation as an owned string (plain ones are `&'static str`, others `String`).
macro_rules! s {
    ($($t:tt)*) => {
        t_string!($($t)*).to_string()
    };
}

/// A server function's error, as the page shows it.
pub fn error(i18n: I18n, error: &AppError) -> String {
    match error {
        AppError::SignInRequired => s!(i18n, errors.sign_in_required),
        AppError::BadCredentials => s!(i18n, errors.bad_credentials),
        AppError::Invalid { problem, .. } => self::problem(i18n, problem),
        AppError::Fields(_) => s!(i18n, errors.fields),
        AppError::NoBillingProfile => s!(i18n, errors.no_profile),
        AppError::Forbidden => s!(i18n, errors.forbidden),
        AppError::TooManyAttempts { minutes } => s!(i18n, errors.too_many_attempts, count = *minutes),
        AppError::Internal => s!(i18n, errors.internal),
        AppError::Transport(_) => s!(i18n, errors.transport),
        AppError::BadRequest(_) => s!(i18n, errors.bad_request),
        // Operator-console answers: written in English (the console is not translated).
        AppError::MissingCapability(_)
        | AppError::NotAllowed(_)
        | AppError::NotFound(_)
        | AppError::Conflict(_) => error.to_string(),
    }
}

/// One problem with a request, as the page shows it.
pub fn problem(i18n: I18n, problem: &Problem) -> String {
    use Problem as P;
    let text = match problem {
        P::EnterEmail => s!(i18n, problems.enter_email),
        P::EnterPassword => s!(i18n, problems.enter_password),
        P::InvalidEmail => s!(i18n, problems.invalid_email),
        P::BillingType => s!(i18n, problems.billing_type),
        P::BillingName => s!(i18n, problems.billing_name),
        P::BillingEmail => s!(i18n, problems.billing_email),
        P::BillingAddress => s!(i18n, problems.billing_address),
        P::Country => s!(i18n, problems.country),
        P::CurrencyForCountry { country, allowed } => {
            let or = s!(i18n, problems.or);
            let allowed = allowed
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(&or);
            let country = crate::model::billing::country_name(country).unwrap_or(country);
            s!(i18n, problems.currency_for_country, country, allowed)
        }
        P::CompanyTaxCode => s!(i18n, problems.company_tax_code),
        P::TaxCodeCharacters => s!(i18n, problems.tax_code_characters),
        P::TaxCodeVietnam => s!(i18n, problems.tax_code_vietnam),
        P::TaxCodeJapan => s!(i18n, problems.tax_code_japan),
        P::CurrencyLocked(c) => s!(i18n, problems.currency_locked, currency = c.code()),
        P::CountryForCurrency(c) => {
            s!(i18n, problems.country_for_currency, currency = c.code())
        }
        P::ChooseLanguage => s!(i18n, problems.choose_language),
        P::ChooseTimeZone => s!(i18n, problems.choose_time_zone),
        P::ChooseDateFormat => s!(i18n, problems.choose_date_format),
        P::Amount(TopUpAmountError::Unreadable(e)) => return amount(i18n, e),
        P::Amount(TopUpAmountError::BelowMinimum(m)) => {
            s!(i18n, problems.below_minimum, amount = m)
        }
        P::Amount(TopUpAmountError::AboveMaximum(m)) => {
            s!(i18n, problems.above_maximum, amount = m)
        }
        P::ConfirmNonRefundable => s!(i18n, problems.confirm_non_refundable),
        P::GatewayUnreachable(g) => {
            s!(i18n, problems.gateway_unreachable, gateway = g.label())
        }
        P::AttemptEnded => s!(i18n, problems.attempt_ended),
        P::Code(CodeError::Empty) => s!(i18n, problems.code_empty),
        P::Code(CodeError::Typo) => s!(i18n, problems.code_typo),
        P::Code(CodeError::NotACode) => s!(i18n, problems.code_unknown),
        P::VoucherNeedsProfile => s!(i18n, problems.voucher_needs_profile),
        P::VoucherDisabled => s!(i18n, problems.voucher_disabled),
        P::VoucherNotYetValid(from) => s!(i18n, problems.voucher_not_yet_valid, from),
        P::VoucherEnded => s!(i18n, problems.voucher_ended),
        P::VoucherFullyRedeemed => s!(i18n, problems.voucher_fully_redeemed),
        P::VoucherAlreadyRedeemed => s!(i18n, problems.voucher_already_redeemed),
        P::VoucherNotInCurrency(c) => {
            s!(i18n, problems.voucher_not_in_currency, currency = c.code())
        }
        P::Filter(crate::model::history::FilterError::EndBeforeStart) => {
            s!(i18n, problems.end_before_start)
        }
        P::Filter(crate::model::history::FilterError::PageSize) => {
            s!(i18n, problems.page_size)
        }
        P::StalePage => s!(i18n, problems.stale_page),
        P::UnknownPlan(plan) => s!(i18n, problems.unknown_plan, plan),
        P::PlanNotOffered(plan, c) => {
            s!(i18n, problems.plan_not_offered, plan, currency = c.code())
        }
        P::AlreadyOnPlan(plan) => s!(i18n, problems.already_on_plan, plan),
        P::NotAnUpgrade(plan) => s!(i18n, problems.not_an_upgrade, plan),
        P::NotADowngrade(plan) => s!(i18n, problems.not_a_downgrade, plan),
        P::RenewalUnpaid(plan) => s!(i18n, problems.renewal_unpaid, plan),
        P::PlanRenewing => s!(i18n, problems.plan_renewing),
        P::NothingToCancel => s!(i18n, problems.nothing_to_cancel),
        P::NothingScheduled => s!(i18n, problems.nothing_scheduled),
        P::BalanceShort(m) => s!(i18n, problems.balance_short, amount = m),
        P::PriceChanged(m) => s!(i18n, problems.price_changed, amount = m),
        P::IncompletePayment => s!(i18n, problems.incomplete_payment),
        P::AmountShownMissing => s!(i18n, problems.amount_shown_missing),
        P::Malformed => s!(i18n, problems.malformed),
        P::Other(text) => return text.clone(),
    };
    text
}

/// Why typed text is not an amount.
pub fn amount(i18n: I18n, error: &AmountError) -> String {
    let text = match error {
        AmountError::Empty => s!(i18n, problems.enter_amount),
        AmountError::NotANumber(text) => s!(i18n, problems.not_a_number, text),
        AmountError::TooManyDecimals { currency, max: 0 } => {
            s!(i18n, problems.no_decimals, currency = currency.code())
        }
        AmountError::TooManyDecimals { currency, max } => s!(
            i18n,
            problems.too_many_decimals,
            currency = currency.code(),
            count = *max
        ),
        AmountError::NotPositive => s!(i18n, problems.not_positive),
        AmountError::TooLarge => s!(i18n, problems.too_large),
    };
    text
}

/// A balance bucket's name.
pub fn bucket(i18n: I18n, bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::TopUp => t_string!(i18n, labels.top_up_credits),
        Bucket::Voucher => t_string!(i18n, labels.voucher_credits),
    }
}

/// A service's name. The marketplace's products keep their English names, as the
/// marketplace writes them in every language.
pub fn service(i18n: I18n, service: Service) -> &'static str {
    match service {
        Service::PaymentGateway => t_string!(i18n, labels.payment_gateway),
        Service::System => t_string!(i18n, labels.system),
        Service::BillingPlans => t_string!(i18n, labels.billing_plans),
        Service::BillingSupport => t_string!(i18n, labels.billing_support),
        Service::ModelFineTuning | Service::GpuContainer | Service::AiInference => service.label(),
    }
}

/// A history row's status.
pub fn status(i18n: I18n, status: Status) -> &'static str {
    match status {
        Status::Success => t_string!(i18n, labels.success),
        Status::Failed => t_string!(i18n, labels.failed),
        Status::Processed => t_string!(i18n, labels.processed),
    }
}

/// A payment's status.
pub fn payment_status(i18n: I18n, status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Success => t_string!(i18n, labels.success),
        PaymentStatus::Pending => t_string!(i18n, labels.pending),
        PaymentStatus::Failed => t_string!(i18n, labels.failed),
    }
}
