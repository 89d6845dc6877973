//! Demo data, loaded only when an operator asks (`server demo`): two customers and three
//! operators (all capabilities; view and approve; view only), an API
//! key, voucher campaigns, and a Vietnamese customer with a realistic history.
//!
//! Plans: Free (every database has it), Pro and Business, priced in VND, JPY, USD and
//! EUR; the demo customer is on Free.
//!
//! Vouchers: `WELCOME-VND` (500.000 ₫ or ¥3,000 or $20 or 20 €, credits for 30 days)
//! the demo customer has not used; `WELCOME1M` and `SPRING200K` they redeemed and
//! partly spent; `LAUNCH100K`, whose credits expired unused.

use super::audit::Actor;
use super::db::{Db, now};
use super::ledger::{self, ChargeRequest};
use super::payment::{self, NewPayment, Outcome};
use super::{account, api_key, auth, operator, voucher};
use crate::model::billing::{BillingProfile, BillingType};
use crate::model::ledger::Service;
use crate::model::money::{Currency, Money};
use crate::model::operator::Capability;
use crate::model::session::Role;
use crate::model::top_up::Gateway;
use crate::model::voucher::{CampaignCodes, CreditExpiry, NewCampaign, read_code};
use chrono::{DateTime, Duration, Utc};

/// A demo campaign with one shared code, credits in VND only unless `amounts` says more.
fn shared(
    code: &str,
    name: &str,
    description: &str,
    amounts: Vec<Money>,
    expiry: CreditExpiry,
) -> NewCampaign {
    NewCampaign {
        name: name.into(),
        description: description.into(),
        amounts,
        codes: CampaignCodes::Shared(code.into()),
        valid_from: None,
        valid_until: None,
        credit_expiry: expiry,
        max_redemptions: None,
        per_account_limit: 1,
    }
}

/// Every demo user's password.
pub const PASSWORD: &str = "demo-password";
/// The customer with a VND account and history.
pub const CUSTOMER: &str = "demo@example.com";
/// A customer without a billing profile yet.
pub const NEW_CUSTOMER: &str = "new@example.com";
/// The operator with every capability.
pub const OPERATOR: &str = "admin@example.com";
/// An operator who looks up accounts and approves adjustments (the second pair of eyes).
pub const APPROVER: &str = "finance@example.com";
/// An operator who may only look.
pub const VIEWER: &str = "support@example.com";
/// The metering services' API key.
pub const API_KEY: &str = "demo-metering-key";
/// A shared voucher code the demo customer has not used yet.
pub const VOUCHER: &str = "WELCOME-VND";

/// Redeems a demo code for the account, as Apply Code would at `at`.
async fn redeem(
    txn: &sea_orm::DatabaseTransaction,
    account_id: &str,
    code: &str,
    at: DateTime<Utc>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let typed = read_code(code).map_err(|e| format!("{code}: {e}"))?;
    voucher::redeem_in(
        txn,
        account_id,
        &typed,
        None,
        chrono_tz::Asia::Ho_Chi_Minh,
        at,
    )
    .await?;
    Ok(())
}

/// Whether anything was loaded.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    Now,
    Already,
}

/// Loads the demo data unless it is there already.
pub async fn load(db: &Db) -> Result<Loaded, Box<dyn std::error::Error + Send + Sync>> {
    if auth::find_by_email(db.conn(), CUSTOMER).await?.is_some() {
        return Ok(Loaded::Already);
    }
    let t0 = now();
    let txn = db.write().await?;
    let demo = auth::create_user(&*txn, CUSTOMER, PASSWORD, Role::Customer, t0).await?;
    auth::set_time_zone(&*txn, demo.id, "Asia/Ho_Chi_Minh").await?;
    auth::create_user(&*txn, NEW_CUSTOMER, PASSWORD, Role::Customer, t0).await?;
    for (email, capabilities) in [
        (OPERATOR, Capability::ALL),
        (
            APPROVER,
            &[Capability::ViewAccounts, Capability::ApproveAdjustments][..],
        ),
        (VIEWER, &[Capability::ViewAccounts][..]),
    ] {
        auth::create_user(&*txn, email, PASSWORD, Role::Operator, t0).await?;
        operator::grant(&txn, email, capabilities, &Actor::CommandLine, t0).await?;
    }
    api_key::create_with_key(
        &*txn,
        "demo metering service",
        API_KEY,
        &api_key::Scope::all(),
        t0,
    )
    .await?;
    let vnd = |n: i64| Money::from_minor(n, Currency::Vnd);
    let ago = |days: i64, hours: i64| t0 - Duration::days(days) - Duration::hours(hours);
    for campaign in [
        shared(
            VOUCHER,
            "Welcome",
            "Welcome credits for new customers",
            vec![
                vnd(500_000),
                Money::from_minor(3_000, Currency::Jpy),
                Money::from_minor(2_000, Currency::Usd),
                Money::from_minor(2_000, Currency::Eur),
            ],
            CreditExpiry::DaysAfter(30),
        ),
        shared(
            "WELCOME1M",
            "Welcome (launch)",
            "Welcome voucher",
            vec![vnd(1_000_000)],
            CreditExpiry::On(t0 + Duration::days(30)),
        ),
        shared(
            "SPRING200K",
            "Spring promotion",
            "Spring promotion",
            vec![vnd(200_000)],
            CreditExpiry::DaysAfter(15),
        ),
        shared(
            "LAUNCH100K",
            "Launch week",
            "Launch week credits",
            vec![vnd(100_000)],
            CreditExpiry::DaysAfter(14),
        ),
    ] {
        voucher::create_campaign_in(&txn, &campaign, ago(60, 0)).await?;
    }
    let account = account::open(
        &*txn,
        demo.id,
        Currency::Vnd,
        Some("VN"),
        t0 - Duration::days(60),
    )
    .await?;
    let id = account.id.clone();

    // Top-ups go through payments, as the Add credit dialog's do, so Payment History and
    // Credit History tell the same story.
    let top_up = |amount: i64, n: u32| NewPayment {
        account_id: id.clone(),
        amount: vnd(amount),
        gateway: Gateway::VnPay,
        client_token: format!("demo-{n}"),
        consent_version: crate::model::top_up::TERMS_VERSION.into(),
    };
    let paid = |amount: i64, n: u32| Outcome::Paid {
        amount: vnd(amount),
        gateway_ref: Some(format!("1422{n:04}")),
    };
    let charge = |service: Service, resource: &str, description: &str, amount: i64| ChargeRequest {
        account_id: id.clone(),
        service,
        resource: resource.to_owned(),
        description: description.to_owned(),
        amount: vnd(amount),
        idempotency_key: None,
    };

    // Credits that expired unused, 14 days after they were redeemed.
    redeem(&txn, &id, "LAUNCH100K", ago(50, 1)).await?;
    let locked = ledger::lock_account(&txn, &id).await?;
    ledger::expire_due_in(&txn, &locked, ago(36, 1)).await?;

    let made = payment::create_in(
        &txn,
        &top_up(2_000_000, 1),
        Duration::minutes(15),
        ago(45, 3),
    )
    .await?;
    payment::settle_in(
        &txn,
        &made,
        &paid(2_000_000, 1),
        ago(45, 3) + Duration::minutes(1),
    )
    .await?;
    let made = payment::create_in(
        &txn,
        &top_up(1_000_000, 2),
        Duration::minutes(15),
        ago(40, 5),
    )
    .await?;
    payment::settle_in(
        &txn,
        &made,
        &Outcome::Failed {
            reason: super::gateways::failure::Failure::Vnpay { code: "51".into() },
        },
        ago(40, 5) + Duration::minutes(1),
    )
    .await?;
    redeem(&txn, &id, "WELCOME1M", ago(35, 2)).await?;
    ledger::charge_in(
        &txn,
        &charge(
            Service::ModelFineTuning,
            "ft-llama3-8b-support-bot",
            "Fine-tuning job, 2 h 10 min on 1× H100",
            350_000,
        ),
        ago(30, 4),
    )
    .await?;
    ledger::charge_in(
        &txn,
        &charge(
            Service::GpuContainer,
            "gpu-container-a100-dev",
            "GPU container, 12 h on 1× A100 40 GB",
            900_000,
        ),
        ago(20, 7),
    )
    .await?;
    ledger::charge_in(
        &txn,
        &charge(
            Service::AiInference,
            "inference-qwen2-72b",
            "AI Inference, 1.82 M tokens",
            45_500,
        ),
        ago(10, 1),
    )
    .await?;
    let made = payment::create_in(
        &txn,
        &top_up(5_000_000, 3),
        Duration::minutes(15),
        ago(7, 6),
    )
    .await?;
    payment::settle_in(
        &txn,
        &made,
        &paid(5_000_000, 3),
        ago(7, 6) + Duration::minutes(1),
    )
    .await?;
    redeem(&txn, &id, "SPRING200K", ago(5, 3)).await?;
    ledger::charge_in(
        &txn,
        &charge(
            Service::GpuContainer,
            "gpu-cluster-8xh100",
            "GPU container, 72 h on 8× H100",
            50_000_000,
        ),
        ago(3, 2),
    )
    .await?;
    ledger::charge_in(
        &txn,
        &charge(
            Service::AiInference,
            "inference-llama3-70b",
            "AI Inference, 640 k tokens",
            128_000,
        ),
        ago(1, 9),
    )
    .await?;
    // Still waiting for VNPay (for a day, so the demo shows it).
    payment::create_in(
        &txn,
        &top_up(500_000, 4),
        Duration::days(1),
        t0 - Duration::minutes(20),
    )
    .await?;
    txn.commit().await?;
    // Billing settings, so Add credit goes straight to the amount.
    super::billing::save(
        db,
        demo.id,
        &BillingProfile {
            billing_type: BillingType::Personal,
            name: "Nguyễn Văn An".into(),
            email: CUSTOMER.into(),
            address: "12 Lê Lợi, Quận 1, Thành phố Hồ Chí Minh".into(),
            country: "VN".into(),
            currency: Currency::Vnd,
            tax_code: None,
        },
    )
    .await?;
    for plan in plans() {
        super::plan::define(db, &plan, &super::audit::Actor::System, t0).await?;
    }
    Ok(Loaded::Now)
}

/// The demo catalogue: Pro and Business beside the free plan every database has.
fn plans() -> Vec<crate::model::plan::PlanSpec> {
    let prices = |vnd: i64, jpy: i64, usd: i64, eur: i64| {
        vec![
            Money::from_minor(vnd, Currency::Vnd),
            Money::from_minor(jpy, Currency::Jpy),
            Money::from_minor(usd, Currency::Usd),
            Money::from_minor(eur, Currency::Eur),
        ]
    };
    let limits = |gpu: i64, jobs: i64, support: &str| {
        vec![
            ("max_gpu_containers".to_owned(), gpu.to_string()),
            ("max_fine_tuning_jobs".to_owned(), jobs.to_string()),
            ("support".to_owned(), support.to_owned()),
        ]
    };
    vec![
        crate::model::plan::PlanSpec {
            code: "pro".into(),
            name: "Pro".into(),
            description: "For teams shipping models every week.".into(),
            features: vec![
                "4 GPU containers at a time".into(),
                "5 fine-tuning jobs at a time".into(),
                "Email support, next business day".into(),
            ],
            limits: limits(4, 5, "email"),
            prices: prices(499_000, 2_980, 1_900, 1_800),
            rank: 1,
            is_default: false,
            active: true,
        },
        crate::model::plan::PlanSpec {
            code: "business".into(),
            name: "Business".into(),
            description: "For production workloads with a support line.".into(),
            features: vec![
                "16 GPU containers at a time".into(),
                "20 fine-tuning jobs at a time".into(),
                "Priority support, 4-hour response".into(),
            ],
            limits: limits(16, 20, "priority"),
            prices: prices(1_990_000, 11_800, 7_900, 7_400),
            rank: 2,
            is_default: false,
            active: true,
        },
    ]
}

/// Ledger rows per multi-row INSERT when seeding: under PostgreSQL's 65,535 bound
/// values and SQLite's 32,766.
const SEED_ROWS_PER_INSERT: usize = 2_000;

/// Gives an account `rows` ledger rows of history, for load tests at scale (`server
/// seed-history`): spread evenly over the `days` before `until`, oldest first; every
/// fourth a top-up of 1.000.000 minor units through a gateway, the others usage charges
/// of the three services (one in ten declined), with the account's balances set to what
/// the rows add up to, so the books balance (`ledger::audit`). Written in transactions
/// of 100,000 rows; the balances with the last, under the account's lock.
pub async fn seed_history(
    db: &Db,
    account_id: &str,
    rows: u64,
    days: i64,
    until: DateTime<Utc>,
) -> Result<(), ledger::LedgerError> {
    use super::entities::{balance, transaction};
    use super::narrative::Narrative;
    use crate::model::ledger::{Bucket, Kind, Status};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

    let services = [
        Service::ModelFineTuning,
        Service::GpuContainer,
        Service::AiInference,
    ];
    let start = until - Duration::days(days);
    let step_ms = (days * 86_400_000) / i64::try_from(rows.max(1)).unwrap_or(i64::MAX);
    let row = |k: u64| {
        let at = start + Duration::milliseconds(step_ms * i64::try_from(k).unwrap_or(0));
        let n = i64::try_from(k).unwrap_or(0);
        if k.is_multiple_of(4) {
            let narrative = Narrative::TopUp {
                reference: format!("TU-SEED{k:08}"),
            };
            transaction::ActiveModel {
                account_id: Set(account_id.to_owned()),
                bucket: Set(Bucket::TopUp.as_str().to_owned()),
                kind: Set(Kind::TopUp.as_str().to_owned()),
                service: Set(Some(Service::PaymentGateway.as_str().to_owned())),
                source: Set(["VNPay", "Stripe", "PayPal"][(k / 4 % 3) as usize].to_owned()),
                description: Set(narrative.english("")),
                narrative: Set(Some(narrative.to_json())),
                status: Set(Status::Success.as_str().to_owned()),
                amount_minor: Set(1_000_000),
                created_at: Set(at),
                ..Default::default()
            }
        } else {
            let service = services[(k % 3) as usize];
            let status = if k % 10 == 1 {
                Status::Failed
            } else {
                Status::Success
            };
            transaction::ActiveModel {
                account_id: Set(account_id.to_owned()),
                bucket: Set(Bucket::TopUp.as_str().to_owned()),
                kind: Set(Kind::Charge.as_str().to_owned()),
                service: Set(Some(service.as_str().to_owned())),
                source: Set(format!("resource-{}", k % 97)),
                description: Set(format!("usage record {k}")),
                status: Set(status.as_str().to_owned()),
                amount_minor: Set(-(1_000 + n % 250_000)),
                created_at: Set(at),
                ..Default::default()
            }
        }
    };
    let mut k = 0;
    loop {
        let txn = db.write().await?;
        let end = (k + 100_000).min(rows);
        while k < end {
            let next = (k + SEED_ROWS_PER_INSERT as u64).min(end);
            transaction::Entity::insert_many((k..next).map(row))
                .exec(&*txn)
                .await?;
            k = next;
        }
        if k < rows {
            txn.commit().await?;
            continue;
        }
        // The top-up balance is what its Success rows add up to.
        let account = ledger::lock_account(&txn, account_id).await?;
        let sum = ledger::success_sum(&*txn, account_id, Bucket::TopUp).await?;
        balance::Entity::update_many()
            .col_expr(balance::Column::AmountMinor, Expr::value(sum))
            .col_expr(balance::Column::UpdatedAt, Expr::value(until))
            .filter(balance::Column::AccountId.eq(account.id.as_str()))
            .filter(balance::Column::Bucket.eq(Bucket::TopUp.as_str()))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        return Ok(());
    }
}
