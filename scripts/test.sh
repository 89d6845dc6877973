#!/usr/bin/env bash
# Runs every test: formatting, clippy (server and browser builds), unit and domain
# tests on SQLite and on PostgreSQL, then the Playwright suite in Chromium against the
# release browser bundle. Installs what is missing first. Needs no input.
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
# `billing_bg.wasm`); release-build.sh sets it for its own builds. Set here for every phase,
# so the test build's server (which Playwright runs, below) names the bundle that ships
# and the phases share one compile.
export LEPTOS_OUTPUT_NAME=billing
# Erased views, as in every release build (`always-erase-components`): the
# server's HTML must be the markup the shipped bundle hydrates; a server without them
# renders views the erased bundle cannot hydrate (a panic in tachys' hydration).
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg erase_components"
step "formatting"
cargo fmt --all -- --check

step "server side: clippy and the test build, in one compile"
# clippy-driver is rustc with Clippy's lints (what `cargo clippy` runs, through the same
# variable); as the workspace's wrapper for `cargo test` it lints our crates while it
# compiles them, so the server graph is built once for both, not checked for clippy and
# then compiled again for the tests. `--all-targets` lints (and builds) the benches too,
# as `cargo clippy --all-targets` did. CLIPPY_ARGS is how cargo-clippy hands the driver
# its arguments. Dependencies are compiled by plain rustc, as under `cargo clippy`.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
server_tests=(-p app --features ssr -p server -p migrations)
cargo test "${server_tests[@]}" --all-targets --no-run

# The browser bundle's release build starts now and runs beside the test runs below, at a
# lower priority: the tests leave about a third of the two cores idle (they wait on the
# databases), which the build takes, and it yields the rest to them. The bundle that
# ships is compiled by rustc alone: clippy-driver turns MIR optimisations off, which
# would change it. release-build.sh builds it in target/front, so it never waits on the
# test build's lock. Its output is printed when it is waited on, below.
# The browser gets the release bundle, split into lazy pieces, as shipped. The server the suite
# talks to is the test build's own `target/debug/server` (cargo test built it above for
# server/tests/proofs.rs): a release server would compile the whole server graph a
# second time (about 12 minutes here) to run the same code. The server's speed is
# measured by the benches and scripts/load.sh on a release build, not by this suite.
bundle_log="$(mktemp)"
bundle_start=$SECONDS
setsid env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS nice -n 10 \
  bash scripts/release-build.sh --frontend-only >"$bundle_log" 2>&1 &
bundle_pid=$!
# Clippy's check of the browser graph (wasm32) starts now too, beside the bundle and at
# the same priority: a long stretch of the bundle's build is one thread (the wasm's fat
# LTO), so the two share what the test runs leave idle. It checks in its own
# target directory, so it never waits on cargo's lock on target/ (which the SQLite run
# takes), and costs no more there: in target/ too it compiles its own host proc-macros
# (a `--target` build gives them no RUSTFLAGS, so they are not the test build's).
clippy_log="$(mktemp)"
setsid env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_TARGET_DIR="$root/target/clippy-wasm" \
  nice -n 10 cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings \
  >"$clippy_log" 2>&1 &
clippy_pid=$!
# Background builds (each in its own process group) do not outlive a failed run.
background=("$bundle_pid" "$clippy_pid")
trap 'for pid in "${background[@]}"; do kill -- "-$pid" 2>/dev/null || true; done' EXIT

step "unit and domain tests on SQLite"
BILLING_TEST_DB=sqlite cargo test "${server_tests[@]}"

step "domain tests on PostgreSQL (${BILLING_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres})"
# The app's test binaries the SQLite run built, run again against PostgreSQL: the same
# compile, nothing built twice (another package or feature selection would rebuild
# much of the graph). Run from app/, as cargo runs them.
mapfile -t app_tests < <(
  cargo test "${server_tests[@]}" --no-run --message-format=json 2>/dev/null |
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

step "browser side: the release bundle and clippy (wasm32), both started above"
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
if ! wait "$bundle_pid"; then
  cat "$bundle_log"
  echo "the release build of the browser bundle failed" >&2
  exit 1
fi
grep -v '^ *Compiling ' "$bundle_log" || true
printf '\033[2m(the release build took %d s from its start)\033[0m\n' "$((SECONDS - bundle_start))"
if ! wait "$clippy_pid"; then
  cat "$clippy_log"
  echo "clippy (wasm32) found problems" >&2
  exit 1
fi
tail -n 1 "$clippy_log"
# What a customer's first page loads of the bundle, and all of it (docs/benchmarks.md).
bash scripts/wasm-size.sh | tail -n 2

step "end-to-end: Playwright in Chromium"
(cd end2end && E2E_PROFILE=debug npx playwright test)

end_phase
phase_name=""
printf '\n\033[1;32m### all tests passed\033[0m\n'
printf '%s\n' "${phases[@]}"
printf '%5d s  in all\n' "$SECONDS"
