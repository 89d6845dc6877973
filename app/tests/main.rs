//! The app's integration tests, one binary: the domain's rules on SQLite and (with
//! `BILLING_TEST_DB=postgres`) PostgreSQL, the database handle, the SQLite build's settings, the gateways'
//! signatures, the ledger's model-based test and the translations' completeness. One
//! binary, not one per file: each would link the whole app again, which took minutes of
//! every test run and gigabytes of disk. Run one file's tests with its module name, e.g.
//! `cargo test -p app --features ssr --test domain ledger::`.

mod support;

mod auth;
mod billing;
mod console;
mod db;
mod export;
mod gateways;
mod group_commit;
mod history;
mod ledger;
mod ledger_model;
mod payments;
mod plans;
mod reversals;
mod sqlite_build;
mod stripe;
mod translations;
mod usage;
mod vnpay;
mod vouchers;
