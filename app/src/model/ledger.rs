//! The words of the ledger, shared by server and browser: buckets, kinds, services,
//! statuses and the balances a person sees.

use super::money::{Currency, Money};
use serde::{Deserialize, Serialize};

/// Where credits sit: bought (top-up) or granted by voucher codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Bucket {
    TopUp,
    Voucher,
}
wire_names!(Bucket { TopUp => "top_up", Voucher => "voucher" });

impl Bucket {
    /// What the Billing page calls the bucket.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::TopUp => "Top-up credits",
            Bucket::Voucher => "Voucher credits",
        }
    }
}

/// What moved the credits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    TopUp,
    VoucherGrant,
    Charge,
    Expiry,
    Reversal,
    /// A billing plan's charge: an upgrade's prorated difference or a renewal.
    Plan,
    /// An operator's correction, credit or debit, with a reason.
    Adjustment,
}
wire_names!(Kind {
    TopUp => "top_up",
    VoucherGrant => "voucher_grant",
    Charge => "charge",
    Expiry => "expiry",
    Reversal => "reversal",
    Plan => "plan",
    Adjustment => "adjustment",
});

/// The Service column of a ledger row: who moved the credits. Top-ups come through the
/// Payment Gateway, voucher grants and expiries from the System, and charges from one
/// of the marketplace's services (the only ones the usage API accepts); plan charges
/// from Billing Plans; operators' adjustments from Billing Support.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Service {
    PaymentGateway,
    System,
    BillingPlans,
    /// An operator's adjustment.
    BillingSupport,
    ModelFineTuning,
    GpuContainer,
    AiInference,
}
wire_names!(Service {
    PaymentGateway => "payment_gateway",
    System => "system",
    BillingPlans => "billing_plans",
    BillingSupport => "billing_support",
    ModelFineTuning => "model_fine_tuning",
    GpuContainer => "gpu_container",
    AiInference => "ai_inference",
});

impl Service {
    /// The marketplace services that spend credits.
    pub const USAGE: [Service; 3] = [
        Service::ModelFineTuning,
        Service::GpuContainer,
        Service::AiInference,
    ];

    /// Whether this is a marketplace service that charges usage.
    pub fn is_usage(self) -> bool {
        Service::USAGE.contains(&self)
    }

    /// The name customers know the service by.
    pub fn label(self) -> &'static str {
        match self {
            Service::PaymentGateway => "Payment Gateway",
            Service::System => "System",
            Service::BillingPlans => "Billing Plans",
            Service::BillingSupport => "Billing Support",
            Service::ModelFineTuning => "Model Fine-tuning",
            Service::GpuContainer => "GPU Container",
            Service::AiInference => "AI Inference",
        }
    }
}

/// The state of a ledger row. Only `Success` rows count toward the balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Success,
    Failed,
    /// Still being handled (a top-up whose payment has not settled).
    Processed,
}
wire_names!(Status { Success => "success", Failed => "failed", Processed => "processed" });

impl Status {
    /// The label the history shows.
    pub fn label(self) -> &'static str {
        match self {
            Status::Success => "Success",
            Status::Failed => "Failed",
            Status::Processed => "Processed",
        }
    }
}

/// An account's credit, per bucket and in total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balances {
    pub top_up: Money,
    pub voucher: Money,
}

impl Balances {
    /// Both buckets empty.
    pub fn zero(currency: Currency) -> Balances {
        Balances {
            top_up: Money::zero(currency),
            voucher: Money::zero(currency),
        }
    }

    /// The account's currency.
    pub fn currency(&self) -> Currency {
        self.top_up.currency()
    }

    /// Top-up plus voucher credits.
    pub fn total(&self) -> Money {
        let minor = self.top_up.to_minor().unwrap_or(0) + self.voucher.to_minor().unwrap_or(0);
        Money::from_minor(minor, self.currency())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for s in Service::ALL {
            assert_eq!(Service::parse(s.as_str()), Some(*s));
        }
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Service::parse("Model Fine-tuning"), None);
    }

    #[test]
    fn total_adds_both_buckets() {
        let b = Balances {
            top_up: Money::from_minor(1_000, Currency::Usd),
            voucher: Money::from_minor(250, Currency::Usd),
        };
        assert_eq!(b.total().to_string(), "$12.50");
    }
}
