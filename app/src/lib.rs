//! The billing app: the shared model, the server-only domain, the UI and its server
//! functions.
//!
//! - [`model`]: plain data and validation, compiled for browser and server;
//! - [`domain`] (feature `ssr`): ledger, accounts, auth, database; no Leptos in it;
//! - [`api`]: server functions, thin: session → domain → typed error;
//! - [`ui`]: components and pages.

pub mod api;
#[cfg(feature = "ssr")]
pub mod domain;
pub mod model;
pub mod ui;
