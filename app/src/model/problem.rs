//! What is wrong with a request, typed, so the UI words it in the reader's language
//! (`ui::messages`, the one place a problem becomes text) while the usage API and the
//! logs keep the stable English `Display` below.
//!
//! A page's server function sends a problem to the browser already worded, as a string
//! (`ui::messages`' `Serialize`): the browser then needs neither the typed decoding nor
//! the words of problems it never finds itself (docs/decisions.md, "Problems travel
//! worded"). It arrives as `Worded`, which also carries operator-console messages,
//! written in English only (the console is not translated).

use super::history::FilterError;
use super::money::{Currency, Money};
use super::top_up::{Gateway, TopUpAmountError};
use super::voucher::CodeError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    // Sign-in.
    #[error("Enter your email.")]
    EnterEmail,
    #[error("Enter your password.")]
    EnterPassword,
    #[error("Enter a valid email address.")]
    InvalidEmail,

    // Billing details.
    #[error("Choose Personal or Company.")]
    BillingType,
    #[error("Enter the name to bill (2 to 200 characters).")]
    BillingName,
    #[error("Enter a valid email address, such as name@example.com.")]
    BillingEmail,
    #[error("Enter the billing address (5 to 500 characters).")]
    BillingAddress,
    #[error("Choose a country.")]
    Country,
    /// The currency chosen is not billed in the country; `allowed` are.
    #[error("Billing in {} is in {}.", super::billing::country_name(.country).unwrap_or(.country), join(.allowed))]
    CurrencyForCountry {
        country: String,
        allowed: Vec<Currency>,
    },
    #[error("A company needs its tax code.")]
    CompanyTaxCode,
    #[error("A tax code has at most 64 letters, digits, spaces, '-', '.' or '/'.")]
    TaxCodeCharacters,
    #[error(
        "A Vietnamese tax code has 10 digits, or 10 digits, a dash and 3 more (e.g. 0101234567 or 0101234567-001)."
    )]
    TaxCodeVietnam,
    #[error("A Japanese registration number is T followed by 13 digits (e.g. T1234567890123).")]
    TaxCodeJapan,
    #[error("Your account's currency is {0}; it cannot be changed.")]
    CurrencyLocked(Currency),
    #[error("Your account holds {0}, which is not used for billing in that country.")]
    CountryForCurrency(Currency),

    // Display preferences.
    #[error("Choose English, Tiếng Việt or 日本語.")]
    ChooseLanguage,
    #[error("Choose a time zone from the list, such as Asia/Ho_Chi_Minh.")]
    ChooseTimeZone,
    #[error("Choose a date format.")]
    ChooseDateFormat,

    // Adding credit.
    #[error("{0}")]
    Amount(TopUpAmountError),
    #[error("Please confirm that purchased credits are non-refundable.")]
    ConfirmNonRefundable,
    #[error("{} could not be reached, so nothing was charged. Please try again in a moment.", .0.label())]
    GatewayUnreachable(Gateway),
    #[error("This payment attempt has ended. Go Back and press Pay again to start a new one.")]
    AttemptEnded,

    // Vouchers.
    #[error("{0}")]
    Code(CodeError),
    #[error(
        "You need a billing profile before you can redeem a voucher. Choose Add credit to set your billing details and currency, then apply the code."
    )]
    VoucherNeedsProfile,
    #[error("This voucher code has been disabled.")]
    VoucherDisabled,
    /// Usable from this date (the reader's dates).
    #[error("This voucher code is not valid yet. It can be used from {0}.")]
    VoucherNotYetValid(String),
    #[error("This voucher code is no longer valid.")]
    VoucherEnded,
    #[error("This voucher code has been fully redeemed.")]
    VoucherFullyRedeemed,
    #[error("You have already redeemed this voucher code.")]
    VoucherAlreadyRedeemed,
    #[error("This voucher code is not available for accounts in {0}.")]
    VoucherNotInCurrency(Currency),

    // Credit History.
    #[error("{0}")]
    Filter(FilterError),
    #[error("This page link is not valid any more; start again from the first page.")]
    StalePage,

    // Plans (plan names are the catalogue's).
    #[error("There is no plan called {0:?}.")]
    UnknownPlan(String),
    #[error("The {0} plan is not offered in {1}.")]
    PlanNotOffered(String, Currency),
    #[error("You are already on the {0} plan.")]
    AlreadyOnPlan(String),
    #[error(
        "{0} costs less than your plan: choose Downgrade, which takes effect at the end of your period."
    )]
    NotAnUpgrade(String),
    #[error("{0} costs more than your plan: choose Upgrade.")]
    NotADowngrade(String),
    #[error("Your {0} renewal is unpaid: add credit to pay it before changing plans.")]
    RenewalUnpaid(String),
    #[error("Your plan is renewing right now; try again in a minute.")]
    PlanRenewing,
    #[error("You are on the free plan: there is nothing to cancel.")]
    NothingToCancel,
    #[error("No plan change is scheduled.")]
    NothingScheduled,
    #[error("Your balance is short by {0}: add credit, then upgrade.")]
    BalanceShort(Money),
    #[error("The upgrade now costs {0}, more than you were shown. Check it and confirm again.")]
    PriceChanged(Money),

    /// Text already worded: an operator-console message (English), or any problem as
    /// the browser receives it from the server, in the reader's language.
    #[error("{0}")]
    Worded(String),
}

fn join(currencies: &[Currency]) -> String {
    currencies
        .iter()
        .map(|c| c.code())
        .collect::<Vec<_>>()
        .join(" or ")
}
