#!/usr/bin/env bash
# The framework's floor for our first page's wasm (issue 13): builds scripts/wasm-floor,
# the smallest app shaped like the Overview (router, title, one server function's reply
# through a resource under Suspense, a click), with the workspace's versions (its
# Cargo.lock), the wasm-release profile, erased views, and the wasm-bindgen and wasm-opt
# steps scripts/release-build.sh runs on ours (-Oz, the same features); then prints its
# size beside what our first page loads (scripts/wasm-size.sh, from the last release
# build). What lies between the two is ours: our code and the libraries it brings.
# Also builds scripts/wasm-floor-islands, the same page with Leptos' islands (only the
# button hydrates): the floor of an app that hydrates less than the whole page.
#
#   bash scripts/wasm-floor.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/tools.sh >/dev/null
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

target="$root/target/wasm-floor"
gz() { gzip -9 -c "$1" | wc -c; }
# Its own [profile.wasm-release] (a package outside the workspace cannot inherit one)
# must stay the workspace's, or the figures are not comparable.
profile() { sed -n '/^\[profile\.wasm-release\]/,/^$/p' "$1"; }

# Builds scripts/<dir> as our bundle is built; its size goes into FLOORS.
floor() {
  local dir="$1" label="$2"
  local crate="${dir//-/_}" out="$target/out-$dir" package="$root/scripts/$dir"
  cp Cargo.lock "$package/Cargo.lock"
  if ! diff <(profile Cargo.toml) <(profile "$package/Cargo.toml") >/dev/null; then
    echo "scripts/$dir/Cargo.toml's [profile.wasm-release] differs from Cargo.toml's" >&2
    exit 1
  fi
  say "building $label (release, wasm)"
  RUSTFLAGS="--cfg erase_components" cargo build --quiet --manifest-path "$package/Cargo.toml" \
    --target wasm32-unknown-unknown --profile wasm-release --target-dir "$target"
  rm -rf "$out"
  wasm-bindgen --target web --out-dir "$out" \
    "$target/wasm32-unknown-unknown/wasm-release/$crate.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$out/${crate}_bg.wasm" -o "$out/${crate}_bg.wasm"
  local wasm="$out/${crate}_bg.wasm" js="$out/$crate.js"
  FLOORS+=("$(printf '  %-52s raw %9d  gzip %9d' "$label: wasm + js" \
    $(( $(stat -c %s "$wasm") + $(stat -c %s "$js") )) $(( $(gz "$wasm") + $(gz "$js") )))")
}
FLOORS=()
floor wasm-floor "the floor"
floor wasm-floor-islands "the floor with islands"
printf '%s\n' "${FLOORS[@]}"
if [ -f target/site/pkg/billing.wasm ]; then
  bash scripts/wasm-size.sh | tail -2
else
  echo "  (no release build in target/site: run scripts/release-build.sh for our figures)"
fi
