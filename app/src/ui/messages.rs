//! Errors in the reader's language: the one place a typed [`AppError`] or [`Problem`]
//! becomes text on a page. The English `Display` of the same values stays for the
//! usage API and the logs.
//!
//! Also a problem's wire form: the server words it here for whoever asked, so a server
//! function's error (and a page's hydration data) carries the problem's text in the
//! reader's language, and the browser reads it back as [`Problem::Worded`].

use crate::i18n::*;
use crate::model::billing::BillingType;
use crate::model::error::AppError;
use crate::model::ledger::{Bucket, Service, Status};
use crate::model::money::AmountError;
use crate::model::problem::Problem;
use crate::model::settings::DateFormat;
use crate::model::top_up::{PaymentStatus, TopUpAmountError};
use leptos::prelude::*;

/// A translation as an owned string (plain ones are `&'static str`, others `String`).
macro_rules! s {
    ($($t:tt)*) => {
        td_string!($($t)*).to_string()
    };
}

/// On the wire a problem is its text in the language of the request being answered
/// (English outside one). Only the page's own server functions send it: the usage API
/// answers with its own English `Display`.
impl serde::Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&problem(sent_in(), self))
    }
}

/// The language a problem is sent in: the request's, except to an operator, who works
/// in the console, which is written in English (docs/decisions.md).
#[cfg(feature = "ssr")]
fn sent_in() -> Locale {
    use crate::model::session::Role;
    let operator = use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            let asker = parts.extensions.get::<crate::api::server::Asker>()?;
            Some(asker.user()?.role == Role::Operator.as_str())
        })
        .unwrap_or(false);
    if operator {
        Locale::en
    } else {
        super::language::of_request().locale()
    }
}

#[cfg(not(feature = "ssr"))]
fn sent_in() -> Locale {
    super::language::of_request().locale()
}

impl<'de> serde::Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(deserializer).map(Problem::Worded)
    }
}

/// A page's data could not be read: what went wrong, announced.
#[component]
pub fn Failed(error: AppError) -> impl IntoView {
    let locale = super::language::use_locale();
    view! {
        <p class="form-error" role="alert">
            {self::error(locale, &error)}
        </p>
    }
}

/// A server function's error, as the page shows it.
pub fn error(locale: Locale, error: &AppError) -> String {
    match error {
        AppError::SignInRequired => s!(locale, errors.sign_in_required),
        AppError::BadCredentials => s!(locale, errors.bad_credentials),
        AppError::Invalid { problem, .. } => in_error(locale, problem),
        AppError::Fields(_) => s!(locale, errors.fields),
        AppError::NoBillingProfile => s!(locale, errors.no_profile),
        AppError::Forbidden => s!(locale, errors.forbidden),
        AppError::TooManyAttempts { minutes } => {
            s!(locale, errors.too_many_attempts, count = *minutes)
        }
        AppError::Internal => s!(locale, errors.internal),
        AppError::Transport(_) => s!(locale, errors.transport),
        AppError::BadRequest(_) => s!(locale, errors.bad_request),
        // Operator-console answers: written in English (the console is not translated).
        AppError::MissingCapability(capability) => {
            crate::model::error::missing_capability(*capability)
        }
        AppError::NotAllowed(text) | AppError::NotFound(text) | AppError::Conflict(text) => {
            text.clone()
        }
    }
}

/// The problem inside a server function's error. On the server (a page rendered with a
/// failed read) it is typed: worded here.
#[cfg(feature = "ssr")]
fn in_error(locale: Locale, problem: &Problem) -> String {
    self::problem(locale, problem)
}

/// In the browser a problem inside an error came from the server, so it is worded
/// already. Not calling `problem` here keeps the words of the forms' problems (and the
/// country names) out of the bundle's main module, in the pieces of the pages that have
/// forms (docs/benchmarks.md).
#[cfg(not(feature = "ssr"))]
fn in_error(locale: Locale, problem: &Problem) -> String {
    match problem {
        Problem::Worded(text) => text.clone(),
        // Not sent so; should one be built in the browser, say what the user can do.
        _ => s!(locale, errors.fields),
    }
}

/// One problem with a request, as the page shows it: here those the browser finds
/// itself (a form's fields, an amount, a date range), which it words in both places.
pub fn problem(locale: Locale, problem: &Problem) -> String {
    use Problem as P;
    match problem {
        P::BillingType => s!(locale, problems.billing_type),
        P::BillingName => s!(locale, problems.billing_name),
        P::BillingEmail => s!(locale, problems.billing_email),
        P::BillingAddress => s!(locale, problems.billing_address),
        P::Country => s!(locale, problems.country),
        P::CurrencyForCountry { country, allowed } => {
            let or = s!(locale, problems.or);
            let allowed = allowed
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(&or);
            let country = crate::model::billing::country_name(country).unwrap_or(country);
            s!(locale, problems.currency_for_country, country, allowed)
        }
        P::CompanyTaxCode => s!(locale, problems.company_tax_code),
        P::TaxCodeCharacters => s!(locale, problems.tax_code_characters),
        P::TaxCodeVietnam => s!(locale, problems.tax_code_vietnam),
        P::TaxCodeJapan => s!(locale, problems.tax_code_japan),
        P::ChooseLanguage => s!(locale, problems.choose_language),
        P::ChooseTimeZone => s!(locale, problems.choose_time_zone),
        P::ChooseDateFormat => s!(locale, problems.choose_date_format),
        P::Amount(TopUpAmountError::Unreadable(e)) => amount(locale, e),
        P::Amount(TopUpAmountError::BelowMinimum(m)) => {
            s!(locale, problems.below_minimum, amount = m)
        }
        P::Amount(TopUpAmountError::AboveMaximum(m)) => {
            s!(locale, problems.above_maximum, amount = m)
        }
        P::ConfirmNonRefundable => s!(locale, problems.confirm_non_refundable),
        P::Filter(crate::model::history::FilterError::EndBeforeStart) => {
            s!(locale, problems.end_before_start)
        }
        P::Filter(crate::model::history::FilterError::PageSize) => {
            s!(locale, problems.page_size)
        }
        P::Worded(text) => text.clone(),
        #[cfg(feature = "ssr")]
        other => found_by_server(locale, other),
        // Only the server finds the rest, and it sends them worded (`Worded`, above),
        // so the bundle carries neither their words nor this arm's use; English if a
        // browser-side check ever produced one (the Display the logs use).
        #[cfg(not(feature = "ssr"))]
        other => other.to_string(),
    }
}

/// Problems only the server finds (sign-in, vouchers, payments, plans): worded on the
/// server alone, in the reader's language, and sent so.
#[cfg(feature = "ssr")]
fn found_by_server(locale: Locale, problem: &Problem) -> String {
    use Problem as P;
    match problem {
        P::EnterEmail => s!(locale, problems.enter_email),
        P::EnterPassword => s!(locale, problems.enter_password),
        P::InvalidEmail => s!(locale, problems.invalid_email),
        P::CurrencyLocked(c) => s!(locale, problems.currency_locked, currency = c.code()),
        P::CountryForCurrency(c) => {
            s!(locale, problems.country_for_currency, currency = c.code())
        }
        P::GatewayUnreachable(g) => {
            s!(locale, problems.gateway_unreachable, gateway = g.label())
        }
        P::AttemptEnded => s!(locale, problems.attempt_ended),
        P::Code(crate::model::voucher::CodeError::Empty) => s!(locale, problems.code_empty),
        P::Code(crate::model::voucher::CodeError::Typo) => s!(locale, problems.code_typo),
        P::Code(crate::model::voucher::CodeError::NotACode) => s!(locale, problems.code_unknown),
        P::VoucherNeedsProfile => s!(locale, problems.voucher_needs_profile),
        P::VoucherDisabled => s!(locale, problems.voucher_disabled),
        P::VoucherNotYetValid(from) => s!(locale, problems.voucher_not_yet_valid, from),
        P::VoucherEnded => s!(locale, problems.voucher_ended),
        P::VoucherFullyRedeemed => s!(locale, problems.voucher_fully_redeemed),
        P::VoucherAlreadyRedeemed => s!(locale, problems.voucher_already_redeemed),
        P::VoucherNotInCurrency(c) => {
            s!(
                locale,
                problems.voucher_not_in_currency,
                currency = c.code()
            )
        }
        P::StalePage => s!(locale, problems.stale_page),
        P::UnknownPlan(plan) => s!(locale, problems.unknown_plan, plan),
        P::PlanNotOffered(plan, c) => {
            s!(locale, problems.plan_not_offered, plan, currency = c.code())
        }
        P::AlreadyOnPlan(plan) => s!(locale, problems.already_on_plan, plan),
        P::NotAnUpgrade(plan) => s!(locale, problems.not_an_upgrade, plan),
        P::NotADowngrade(plan) => s!(locale, problems.not_a_downgrade, plan),
        P::RenewalUnpaid(plan) => s!(locale, problems.renewal_unpaid, plan),
        P::PlanRenewing => s!(locale, problems.plan_renewing),
        P::NothingToCancel => s!(locale, problems.nothing_to_cancel),
        P::NothingScheduled => s!(locale, problems.nothing_scheduled),
        P::BalanceShort(m) => s!(locale, problems.balance_short, amount = m),
        P::PriceChanged(m) => s!(locale, problems.price_changed, amount = m),
        // Never reached: `problem` words the browser's own before calling this.
        _ => problem.to_string(),
    }
}

/// Why typed text is not an amount.
pub fn amount(locale: Locale, error: &AmountError) -> String {
    match error {
        AmountError::Empty => s!(locale, problems.enter_amount),
        AmountError::NotANumber(text) => s!(locale, problems.not_a_number, text),
        AmountError::TooManyDecimals { currency, max: 0 } => {
            s!(locale, problems.no_decimals, currency = currency.code())
        }
        AmountError::TooManyDecimals { currency, max } => s!(
            locale,
            problems.too_many_decimals,
            currency = currency.code(),
            count = *max
        ),
        AmountError::NotPositive => s!(locale, problems.not_positive),
        AmountError::TooLarge => s!(locale, problems.too_large),
    }
}

/// A balance bucket's name.
pub fn bucket(locale: Locale, bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::TopUp => td_string!(locale, labels.top_up_credits),
        Bucket::Voucher => td_string!(locale, labels.voucher_credits),
    }
}

/// A service's name. The marketplace's products keep their English names, as the
/// marketplace writes them in every language.
pub fn service(locale: Locale, service: Service) -> &'static str {
    match service {
        Service::PaymentGateway => td_string!(locale, labels.payment_gateway),
        Service::System => td_string!(locale, labels.system),
        Service::BillingPlans => td_string!(locale, labels.billing_plans),
        Service::BillingSupport => td_string!(locale, labels.billing_support),
        Service::ModelFineTuning | Service::GpuContainer | Service::AiInference => service.label(),
    }
}

/// A history row's status.
pub fn status(locale: Locale, status: Status) -> &'static str {
    match status {
        Status::Success => td_string!(locale, labels.success),
        Status::Failed => td_string!(locale, labels.failed),
        Status::Processed => td_string!(locale, labels.processed),
    }
}

/// A payment's status.
pub fn payment_status(locale: Locale, status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Success => td_string!(locale, labels.success),
        PaymentStatus::Pending => td_string!(locale, labels.pending),
        PaymentStatus::Failed => td_string!(locale, labels.failed),
    }
}

/// A date format as Settings lists it.
pub fn date_format(locale: Locale, format: DateFormat) -> &'static str {
    match format {
        DateFormat::Auto => td_string!(locale, settings.date_auto),
        DateFormat::Ymd => td_string!(locale, settings.date_ymd),
        DateFormat::Slashed => td_string!(locale, settings.date_slashed),
        DateFormat::Dmy => td_string!(locale, settings.date_dmy),
        DateFormat::Mdy => td_string!(locale, settings.date_mdy),
    }
}

/// A billing type as the billing form offers it.
pub fn billing_type(locale: Locale, kind: BillingType) -> &'static str {
    match kind {
        BillingType::Personal => td_string!(locale, billing_form.personal),
        BillingType::Company => td_string!(locale, billing_form.company),
    }
}
