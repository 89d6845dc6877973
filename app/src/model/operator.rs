//! The operator console's words: capabilities, adjustments and their rules, the
//! account lookup, the account view and the audit log as the pages show them.

use super::billing::FieldError;
use super::ledger::{Balances, Bucket};
use super::money::{Currency, Money};
use serde::{Deserialize, Serialize};

/// What an operator may do. Each console page and server function needs one; an
/// operator holds only the ones granted (`server grant`), and nothing else (fail closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Capability {
    ViewAccounts,
    AdjustCredits,
    ApproveAdjustments,
    ManageVouchers,
    ManagePlans,
    ManageApiKeys,
}
wire_names!(Capability {
    ViewAccounts => "view_accounts",
    AdjustCredits => "adjust_credits",
    ApproveAdjustments => "approve_adjustments",
    ManageVouchers => "manage_vouchers",
    ManagePlans => "manage_plans",
    ManageApiKeys => "manage_api_keys",
});

impl Capability {
    /// Its name in the console.
    pub fn label(self) -> &'static str {
        match self {
            Capability::ViewAccounts => "View accounts",
            Capability::AdjustCredits => "Adjust credits",
            Capability::ApproveAdjustments => "Approve adjustments",
            Capability::ManageVouchers => "Manage vouchers",
            Capability::ManagePlans => "Manage plans",
            Capability::ManageApiKeys => "Manage API keys",
        }
    }
}

/// Why an operator changes an account's credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReasonCode {
    Goodwill,
    Correction,
    Chargeback,
    Other,
}
wire_names!(ReasonCode {
    Goodwill => "goodwill",
    Correction => "correction",
    Chargeback => "chargeback",
    Other => "other",
});

impl ReasonCode {
    pub fn label(self) -> &'static str {
        match self {
            ReasonCode::Goodwill => "Goodwill",
            ReasonCode::Correction => "Correction",
            ReasonCode::Chargeback => "Chargeback",
            ReasonCode::Other => "Other",
        }
    }
}

/// Where an adjustment request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AdjustmentStatus {
    /// Waiting for a second operator (until it expires).
    Pending,
    Applied,
    Rejected,
    /// The requester took it back before anyone decided.
    Withdrawn,
    /// Nobody decided within the approval window.
    Expired,
}
wire_names!(AdjustmentStatus {
    Pending => "pending",
    Applied => "applied",
    Rejected => "rejected",
    Withdrawn => "withdrawn",
    Expired => "expired",
});

impl AdjustmentStatus {
    pub fn label(self) -> &'static str {
        match self {
            AdjustmentStatus::Pending => "Waiting for approval",
            AdjustmentStatus::Applied => "Applied",
            AdjustmentStatus::Rejected => "Rejected",
            AdjustmentStatus::Withdrawn => "Withdrawn",
            AdjustmentStatus::Expired => "Expired",
        }
    }
}

/// How long a request waits for its approval.
pub const APPROVAL_WINDOW_DAYS: i64 = 7;
/// The shortest comment an adjustment accepts: a reason a colleague can follow.
pub const MIN_COMMENT_CHARS: usize = 10;
/// The longest description a customer reads in Credit History.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
const MAX_COMMENT_CHARS: usize = 2000;

/// The adjustment form as typed (the console and `server adjust` fill it alike).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentForm {
    pub account_id: String,
    /// `top_up` or `voucher`.
    pub bucket: String,
    /// `credit` or `debit`.
    pub direction: String,
    pub amount: String,
    pub reason: String,
    pub comment: String,
    /// What the customer reads in Credit History.
    pub description: String,
    /// The click's idempotency key: a repeat finds the first request.
    pub token: String,
}

/// A valid adjustment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdjustmentSpec {
    pub bucket: Bucket,
    /// Signed: a credit positive, a debit negative.
    pub amount: Money,
    pub reason: ReasonCode,
    pub comment: String,
    pub description: String,
}

impl AdjustmentForm {
    /// Every problem with the form, each beside its field; the account's currency gives
    /// the amount its decimals. The one place an adjustment's rules live.
    pub fn validate(&self, currency: Currency) -> Result<AdjustmentSpec, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut problem =
            |field: &str, message: String| problems.push(FieldError::text(field, message));
        let bucket = Bucket::parse(&self.bucket);
        if bucket.is_none() {
            problem("bucket", "Choose top-up credits or voucher credits.".into());
        }
        let sign = match self.direction.as_str() {
            "credit" => Some(1),
            "debit" => Some(-1),
            _ => {
                problem("direction", "Choose credit or debit.".into());
                None
            }
        };
        let amount = match Money::parse_positive(&self.amount, currency) {
            Ok(m) => Some(m),
            Err(e) => {
                problem("amount", capitalise(&e.to_string()) + ".");
                None
            }
        };
        let reason = ReasonCode::parse(&self.reason);
        if reason.is_none() {
            problem(
                "reason",
                "Choose a reason: goodwill, correction, chargeback or other.".into(),
            );
        }
        let comment = self.comment.trim();
        let comment_chars = comment.chars().count();
        if comment_chars < MIN_COMMENT_CHARS {
            problem(
                "comment",
                format!(
                    "Write at least {MIN_COMMENT_CHARS} characters on why, for the colleague who reads it later."
                ),
            );
        } else if comment_chars > MAX_COMMENT_CHARS {
            problem(
                "comment",
                format!("Keep the comment to {MAX_COMMENT_CHARS} characters."),
            );
        }
        let description = self.description.trim();
        if description.is_empty() {
            problem(
                "description",
                "Write what the customer reads in Credit History.".into(),
            );
        } else if description.chars().count() > MAX_DESCRIPTION_CHARS {
            problem(
                "description",
                format!("Keep the description to {MAX_DESCRIPTION_CHARS} characters."),
            );
        }
        match (bucket, sign, amount, reason) {
            (Some(bucket), Some(sign), Some(amount), Some(reason)) if problems.is_empty() => {
                Ok(AdjustmentSpec {
                    bucket,
                    amount: if sign < 0 { amount.negated() } else { amount },
                    reason,
                    comment: comment.to_owned(),
                    description: description.to_owned(),
                })
            }
            _ => Err(problems),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The default approval thresholds: an adjustment of at least this much (either way)
/// waits for a second operator. Configurable per currency (`ADJUSTMENT_APPROVAL_AT`).
pub fn default_threshold(currency: Currency) -> Money {
    let major: i64 = match currency {
        Currency::Vnd => 5_000_000,
        Currency::Jpy => 30_000,
        Currency::Usd | Currency::Eur => 200,
    };
    Money::from_minor(major * 10_i64.pow(currency.minor_units()), currency)
}

/// An adjustment as the console lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjustmentView {
    pub id: i64,
    pub account_id: String,
    pub account_email: String,
    pub bucket: Bucket,
    /// Signed.
    pub amount: Money,
    pub reason: ReasonCode,
    pub comment: String,
    pub description: String,
    pub status: AdjustmentStatus,
    pub requested_by: String,
    pub requested_at: String,
    /// When a pending request expires.
    pub expires_at: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: String,
    /// Whether the operator looking may approve or reject it (pending, not their own,
    /// and they hold the capability).
    pub can_decide: bool,
    /// Whether the operator looking may withdraw it (their own, pending).
    pub can_withdraw: bool,
}

/// What a submitted adjustment did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdjustmentOutcome {
    pub adjustment: AdjustmentView,
    /// The account's balances after it (unchanged while it waits).
    pub balances: Balances,
    /// True when the same click had already been submitted.
    pub replayed: bool,
}

/// An approver's decision on a pending request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Approve,
    Reject,
    Withdraw,
}

/// Which key a lookup hit matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LookupKey {
    Email,
    AccountId,
    PaymentReference,
    GatewayReference,
    VoucherCode,
    TaxCode,
}

impl LookupKey {
    pub fn label(self) -> &'static str {
        match self {
            LookupKey::Email => "Email",
            LookupKey::AccountId => "Account id",
            LookupKey::PaymentReference => "Payment reference",
            LookupKey::GatewayReference => "Gateway reference",
            LookupKey::VoucherCode => "Voucher code",
            LookupKey::TaxCode => "Tax code",
        }
    }
}

/// The longest search the lookup accepts.
pub const MAX_LOOKUP_CHARS: usize = 200;
/// At most this many accounts per search (a shared voucher code can match thousands).
pub const LOOKUP_LIMIT: usize = 50;

/// One account a search found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookupHit {
    pub account_id: String,
    pub email: String,
    pub billing_name: Option<String>,
    pub country: Option<String>,
    pub balance: Money,
    pub matched: LookupKey,
}

/// A search's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookupResult {
    pub hits: Vec<LookupHit>,
    /// True when more accounts matched than are shown.
    pub more: bool,
}

/// A voucher grant as the account view lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantLine {
    pub code: String,
    pub granted: Money,
    pub remaining: Money,
    pub granted_at: String,
    pub expires: String,
}

/// Everything the console's account page shows above the histories.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub account_id: String,
    pub email: String,
    pub currency: Currency,
    pub opened: String,
    pub time_zone: String,
    /// Name, type, country, tax code, address, email; none before the first billing save.
    pub billing: Option<Vec<(String, String)>>,
    pub plan: String,
    pub balances: Balances,
    pub grants: Vec<GrantLine>,
    pub adjustments: Vec<AdjustmentView>,
    /// Adjustments of at least this much wait for a second operator.
    pub approval_threshold: Money,
    pub reversals: Vec<ReversalView>,
    /// What the account still owes for charge-backs.
    pub owed: Money,
}

/// One audit log entry as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub account_id: Option<String>,
    pub subject: String,
    pub before: String,
    pub after: String,
    pub reason: String,
}

/// A page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub lines: Vec<AuditLine>,
    /// The id to pass as `before` for the next (older) page.
    pub next_before: Option<i64>,
}

/// The audit log's filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub account_id: String,
    /// An action's name, exact (`adjustment.applied`).
    pub action: String,
    /// Part of the actor (an email, `system`).
    pub actor: String,
    /// Entries older than this id.
    pub before: Option<i64>,
}

/// How many audit entries a page shows.
pub const AUDIT_PAGE_SIZE: u64 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> AdjustmentForm {
        AdjustmentForm {
            account_id: "a".into(),
            bucket: "top_up".into(),
            direction: "debit".into(),
            amount: "12.50".into(),
            reason: "correction".into(),
            comment: "Double charge on 3 Nov".into(),
            description: "Correction of a double charge".into(),
            token: "t".into(),
        }
    }

    #[test]
    fn a_debit_is_negative() {
        let spec = form().validate(Currency::Usd).expect("valid");
        assert_eq!(spec.amount.to_minor(), Some(-1250));
        assert_eq!(spec.bucket, Bucket::TopUp);
    }

    #[test]
    fn every_problem_is_named_beside_its_field() {
        let bad = AdjustmentForm {
            bucket: "gold".into(),
            direction: "both".into(),
            amount: "12.505".into(),
            reason: "whim".into(),
            comment: "because".into(),
            description: " ".into(),
            ..form()
        };
        let fields: Vec<String> = bad
            .validate(Currency::Usd)
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "bucket",
                "direction",
                "amount",
                "reason",
                "comment",
                "description"
            ]
        );
    }

    #[test]
    fn thresholds_default_per_currency() {
        assert_eq!(default_threshold(Currency::Vnd).to_string(), "5.000.000 ₫");
        assert_eq!(default_threshold(Currency::Jpy).to_string(), "¥30,000");
        assert_eq!(default_threshold(Currency::Usd).to_string(), "$200.00");
    }
}

/// Where a top-up's reversal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReversalStatus {
    /// Waiting for an operator's approval.
    Pending,
    /// Its credits were taken back (and the rest recorded as owed).
    Applied,
    Rejected,
    /// The dispute was won: everything it took was given back.
    Reinstated,
}
wire_names!(ReversalStatus {
    Pending => "pending",
    Applied => "applied",
    Rejected => "rejected",
    Reinstated => "reinstated",
});

impl ReversalStatus {
    pub fn label(self) -> &'static str {
        match self {
            ReversalStatus::Pending => "Waiting for approval",
            ReversalStatus::Applied => "Applied",
            ReversalStatus::Rejected => "Rejected",
            ReversalStatus::Reinstated => "Reinstated (dispute won)",
        }
    }
}

/// A reversal as the console lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReversalView {
    pub id: i64,
    pub account_id: String,
    pub account_email: String,
    pub payment_reference: String,
    pub amount: Money,
    pub reason: String,
    /// Who opened it: an operator's email, or the gateway's name.
    pub opened_by: String,
    pub requested_at: String,
    pub status: ReversalStatus,
    pub taken: Money,
    pub owed: Money,
    pub owed_left: Money,
    pub decided_by: Option<String>,
    /// Whether the operator looking may approve or reject it.
    pub can_decide: bool,
}

/// The console's form for a new API key: a name, the services it may charge, and the
/// largest single charge per currency (empty: no limit in that currency; all empty:
/// no limits).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyForm {
    pub name: String,
    pub model_fine_tuning: bool,
    pub gpu_container: bool,
    pub ai_inference: bool,
    pub max_vnd: String,
    pub max_jpy: String,
    pub max_usd: String,
    pub max_eur: String,
}

/// A valid new key's scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeySpec {
    pub name: String,
    pub services: Vec<super::ledger::Service>,
    pub max_charges: Vec<Money>,
}

impl ApiKeyForm {
    /// Every problem, each beside its field (the one place a key's form rules live).
    pub fn validate(&self) -> Result<ApiKeySpec, Vec<FieldError>> {
        use super::ledger::Service;
        let mut problems = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(FieldError::text(
                "name",
                "Name the service that uses the key (1 to 100 characters).",
            ));
        }
        let services: Vec<Service> = [
            (self.model_fine_tuning, Service::ModelFineTuning),
            (self.gpu_container, Service::GpuContainer),
            (self.ai_inference, Service::AiInference),
        ]
        .into_iter()
        .filter_map(|(on, s)| on.then_some(s))
        .collect();
        if services.is_empty() {
            problems.push(FieldError::text(
                "services",
                "Choose at least one service the key may charge.",
            ));
        }
        let mut max_charges = Vec::new();
        for (field, text, currency) in [
            ("max_vnd", &self.max_vnd, Currency::Vnd),
            ("max_jpy", &self.max_jpy, Currency::Jpy),
            ("max_usd", &self.max_usd, Currency::Usd),
            ("max_eur", &self.max_eur, Currency::Eur),
        ] {
            if text.trim().is_empty() {
                continue;
            }
            match Money::parse_positive(text, currency) {
                Ok(m) => max_charges.push(m),
                Err(e) => problems.push(FieldError::text(field, capitalise(&e.to_string()) + ".")),
            }
        }
        if problems.is_empty() {
            Ok(ApiKeySpec {
                name: name.to_owned(),
                services,
                max_charges,
            })
        } else {
            Err(problems)
        }
    }
}

/// An API key as the console lists it (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyLine {
    pub id: i64,
    pub name: String,
    /// The services it may charge, by name.
    pub services: String,
    /// Its largest single charge per currency, or "No limit".
    pub limits: String,
    pub created: String,
    pub revoked: Option<String>,
}

/// A key just made: shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub id: i64,
    pub name: String,
    pub key: String,
}
