//! The server-only domain: ledger, accounts, auth, sessions, API keys, the usage API's
//! rules, demo data. No Leptos types here; everything is testable with `cargo test`
//! against SQLite and PostgreSQL.

pub mod account;
pub mod adjustment;
pub mod api_key;
pub mod audit;
pub mod auth;
pub mod billing;
mod country_names;
pub mod db;
pub mod demo;
pub mod entities;
pub mod export;
pub mod gateways;
pub mod group_commit;
pub mod history;
pub mod ledger;
pub mod lookup;
pub mod narrative;
pub mod operator;
pub mod payment;
pub mod plan;
pub mod reversal;
pub mod session_store;
pub mod settings;
pub mod throttle;
pub mod usage;
pub mod voucher;
