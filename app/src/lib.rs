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

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));
#[cfg(test)]
mod i18n_probe {
    #[test]
    fn probe() {
        use crate::i18n::*;
        use leptos_i18n::td_string;
        assert_eq!(td_string!(Locale::en, minutes, count = 1), "1 minute");
        assert_eq!(td_string!(Locale::en, minutes, count = 2), "2 minutes");
        assert_eq!(td_string!(Locale::ja, minutes, count = 2), "2分");
    }
}
