#!/usr/bin/env bash
# Runs every test: formatting, clippy (server and browser builds), unit and domain
# tests on SQLite and on PostgreSQL, then the Playwright suite in Chromium against a
# release build. Installs what is missing first. Needs no input.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Each phase's time, printed as it ends and all together at the end.
phases=()
phase_name=""
phase_start=$SECONDS
end_phase() {
  if [ -n "$phase_name" ]; then
    local took=$((SECONDS - phase_start))
    phases+=("$(printf '%5d s  %s' "$took" "$phase_name")")
    printf '\033[2m(%s: %d s)\033[0m\n' "$phase_name" "$took"
  fi
}
step() {
  end_phase
  phase_name="$*"
  phase_start=$SECONDS
  printf '\n\033[1;34m### %s\033[0m\n' "$*"
}

step "tools (installs only what is missing)"
source scripts/tools.sh
# A test run builds each crate once: incremental caches (tens of GB here) buy nothing
# and have filled the disk. Set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Leptos reads the bundle's name when it is compiled (without it the page asks for
# `billing_bg.wasm`); cargo-leptos sets it for its own builds. Set here for every phase,
# so the test build's server (which Playwright runs, below) names the bundle that ships
# and the phases share one compile.
export LEPTOS_OUTPUT_NAME=billing
# Erased views, as in every build cargo-leptos makes (`always-erase-components`): the
# server's HTML must be the markup the shipped bundle hydrates; a server without them
# renders views the erased bundle cannot hydrate (a panic in tachys' hydration).
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components"
step "formatting"
cargo fmt --all -- --check

step "clippy: server side"
cargo clippy -p app -p server -p migrations --features app/ssr --all-targets -- -D warnings

step "clippy: browser side (wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and domain tests on SQLite"
BILLING_TEST_DB=sqlite cargo test -p app --features ssr -p server

step "domain tests on PostgreSQL (${BILLING_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres})"
# The app's test binaries the SQLite run built, run again against PostgreSQL: the same
# compile, nothing built twice (another package or feature selection would rebuild
# much of the graph). Run from app/, as cargo runs them.
mapfile -t app_tests < <(
  cargo test -p app --features ssr -p server --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["target"]["kind"] == ["test"]
            and m["manifest_path"].endswith("/app/Cargo.toml")):
        print(m["executable"])'
)
[ "${#app_tests[@]}" -gt 0 ] || { echo "no app test binaries found" >&2; exit 1; }
for binary in "${app_tests[@]}"; do
  (cd app && BILLING_TEST_DB=postgres "$binary" --quiet)
done

step "release build of the browser bundle"
# The browser gets the release bundle, split by page, as shipped. The server the suite
# talks to is the test build's own `target/debug/server` (cargo test built it above for
# server/tests/proofs.rs): a release server would compile the whole server graph a
# second time (about 12 minutes here) to run the same code. The server's speed is
# measured by the benches and scripts/load.sh on a release build, not by this suite.
bash scripts/release-build.sh --frontend-only
# What a customer's first page loads of the bundle, and all of it (docs/benchmarks.md).
bash scripts/wasm-size.sh | tail -n 2

step "end-to-end: Playwright in Chromium"
(cd end2end && E2E_PROFILE=debug npx playwright test)

end_phase
phase_name=""
printf '\n\033[1;32m### all tests passed\033[0m\n'
printf '%s\n' "${phases[@]}"
printf '%5d s  in all\n' "$SECONDS"
