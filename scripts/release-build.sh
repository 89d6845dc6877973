#!/usr/bin/env bash
# The release build: the server and the browser bundle, split by page. Arguments go to
# cargo leptos (the test command passes --frontend-only).
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
exec cargo leptos build --release --split "$@"
