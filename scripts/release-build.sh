#!/usr/bin/env bash
# The release build: the server and the browser bundle, split by page. Arguments go to
# cargo leptos (the test command passes --frontend-only).
#
#   bash scripts/release-build.sh [--frontend-only | --server-only]
#   bash scripts/release-build.sh --compile-only   # needs only cargo, not cargo-leptos
#
# The checkout's own path is written out of the build (--remap-path-prefix): code
# generated into target/ (the translations) names its files by absolute path, and the
# splitter's choice of what goes into the main module moves with the bytes of the data
# section: the same commit measured 433 KB gzip for the first page built under one path
# and 470 KB under another (docs/benchmarks.md). With the path remapped, a clone builds
# the same bundle wherever it lies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--remap-path-prefix=$root=/billing"

# --compile-only: the two `cargo build`s that `cargo leptos build --release --split`
# runs, with the same arguments, RUSTFLAGS and compile-time variables (cargo-leptos
# 0.3.10 with Cargo.toml's [workspace.metadata.leptos]: --emit-relocs for the splitter
# on the wasm, erased views on both, the output name), so that cargo-leptos's own build
# afterwards finds both up to date and only splits, binds and optimises. run.sh starts
# it while a new machine is still installing cargo-leptos.
if [ "${1:-}" = "--compile-only" ]; then
  export LEPTOS_OUTPUT_NAME=billing
  RUSTFLAGS="$RUSTFLAGS --cfg erase_components" \
    cargo build --package=server --bin=server --no-default-features --release
  # The server first: by now tools.sh has added the wasm target (its first step).
  rustup target list --installed | grep -qx wasm32-unknown-unknown ||
    rustup target add wasm32-unknown-unknown
  RUSTFLAGS="$RUSTFLAGS -Clink-args=--emit-relocs --cfg erase_components" \
    cargo build --package=frontend --lib --target-dir="$root/target/front" \
    --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release
  exit
fi
exec cargo leptos build --release --split "$@"
