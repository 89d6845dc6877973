#!/usr/bin/env bash
# Runs every test: formatting, clippy (server and browser builds), unit and domain
# tests on SQLite and on PostgreSQL, then the Playwright suite in Chromium against a
# release build. Installs what is missing first. Needs no input.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/tools.sh
# A test run builds each crate once: incremental caches (tens of GB here) buy nothing
# and have filled the disk. Set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
step() { printf '\n\033[1;34m### %s\033[0m\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "clippy: server side"
cargo clippy -p app -p server -p migrations --features app/ssr --all-targets -- -D warnings

step "clippy: browser side (wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and domain tests on SQLite"
BILLING_TEST_DB=sqlite cargo test -p app --features ssr -p server

step "domain tests on PostgreSQL (${BILLING_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres})"
BILLING_TEST_DB=postgres cargo test -p app --features ssr --tests

step "release build"
cargo leptos build --release

step "end-to-end: Playwright in Chromium"
(cd end2end && npx playwright test)

step "all tests passed"
