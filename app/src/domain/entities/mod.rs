//! sea-orm entities, one per table. Money columns are `i64` minor units.

pub mod account;
pub mod adjustment;
pub mod api_idempotency;
pub mod api_key;
pub mod attempt;
pub mod audit_entry;
pub mod audit_head;
pub mod balance;
pub mod billing_profile;
pub mod dispute;
pub mod gateway_event;
pub mod operator_capability;
pub mod payment;
pub mod plan;
pub mod plan_change;
pub mod plan_price;
pub mod reversal;
pub mod session;
pub mod settings_change;
pub mod subscription;
pub mod transaction;
pub mod user;
pub mod voucher_campaign;
pub mod voucher_campaign_amount;
pub mod voucher_code;
pub mod voucher_grant;
