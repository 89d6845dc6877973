//! A top-up attempt: pending until its gateway confirms or refuses it, or it expires.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Our unique reference, sent to the gateway (VNPay's `vnp_TxnRef`).
    #[sea_orm(unique)]
    pub reference: String,
    pub account_id: String,
    pub gateway: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `capturing`, `succeeded`, `failed` or `expired`.
    pub state: String,
    /// The browser's token for this Pay click: a second click finds the first payment.
    pub client_token: String,
    /// The gateway's own id (VNPay transaction number, Stripe session, PayPal order).
    pub gateway_ref: Option<String>,
    /// The Processed ledger row that settles with this payment.
    pub ledger_transaction_id: Option<i64>,
    /// Why it failed, in English (the console, the audit log).
    pub failure_reason: Option<String>,
    /// The same, typed (`gateways::failure::Failure`), for the customer's language.
    pub failure: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub settled_at: Option<DateTimeUtc>,
    /// Who closed a failed or expired payment: `gateway` (final) or `us` (a verified
    /// paid callback still credits it).
    pub closed_by: Option<String>,
    /// The version of the non-refundable terms the customer agreed to with Pay.
    pub consent_version: Option<String>,
    pub consented_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
