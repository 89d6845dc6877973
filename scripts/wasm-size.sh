#!/usr/bin/env bash
# Prints the browser bundle's size, raw and gzip -9, as served from target/site/pkg
# after `cargo leptos build --release`. With a second site directory (another commit's
# build), prints both and the difference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sizes() {
  local pkg="$1"
  for f in "$pkg"/billing.wasm "$pkg"/billing.js "$pkg"/billing.css; do
    printf '%-40s raw %9d  gzip %9d\n' "$f" "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)"
  done
}
here="${1:-$root/target/site/pkg}"
sizes "$here"
if [ $# -ge 2 ]; then
  sizes "$2"
  a=$(gzip -9 -c "$here/billing.wasm" | wc -c)
  b=$(gzip -9 -c "$2/billing.wasm" | wc -c)
  printf 'wasm gzip difference (first - second): %d bytes\n' $((a - b))
fi
