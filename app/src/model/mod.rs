//! The shared model: plain data and validation, compiled for the browser and the server.
//! No I/O here.

pub mod billing;
pub mod error;
pub mod history;
pub mod ledger;
pub mod money;
pub mod plan;
pub mod session;
pub mod settings;
pub mod top_up;
pub mod voucher;
