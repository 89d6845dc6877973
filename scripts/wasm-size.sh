#!/usr/bin/env bash
# Prints the browser bundle's size, raw and gzip -9, as served from target/site/pkg
# after `bash scripts/release-build.sh` (split into lazy pieces): every file, then what a signed-in
# customer's first page (the Overview) loads (the main module, its JavaScript and the
# split loader), then everything. With a second site directory (another commit's build), prints
# both and the difference in what the first page loads.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

gz() { gzip -9 -c "$1" | wc -c; }

# The files the Overview's first load fetches, one per line. Its islands (the header's,
# the balances, Apply Code) are in the main module; other pages' islands are lazy
# pieces, and the Add credit dialog's steps one more, fetched when it opens.
first_page_files() {
  local pkg="$1"
  printf '%s\n' "$pkg/billing.wasm" "$pkg/billing.js"
  if [ -f "$pkg/__wasm_split_manifest.json" ]; then
    ls "$pkg"/__wasm_split*.js
  fi
}

sizes() {
  local pkg="$1" raw=0 zipped=0 all_raw=0 all_zipped=0 f
  local -A raw_of=() gzip_of=()
  printf '%s\n' "$pkg"
  # Each file measured once; the totals below add up these figures.
  for f in "$pkg"/*.wasm "$pkg"/*.js "$pkg"/billing.css; do
    raw_of[$f]=$(stat -c %s "$f"); gzip_of[$f]=$(gz "$f")
    printf '  %-52s raw %9d  gzip %9d\n' "$(basename "$f")" "${raw_of[$f]}" "${gzip_of[$f]}"
    if [[ $f != *.css ]]; then
      all_raw=$((all_raw + raw_of[$f])); all_zipped=$((all_zipped + gzip_of[$f]))
    fi
  done
  while read -r f; do
    raw=$((raw + raw_of[$f])); zipped=$((zipped + gzip_of[$f]))
  done < <(first_page_files "$pkg")
  printf '  %-52s raw %9d  gzip %9d\n' "first page (Overview): wasm + js" "$raw" "$zipped"
  printf '  %-52s raw %9d  gzip %9d\n' "all pages: wasm + js" "$all_raw" "$all_zipped"
  FIRST_GZIP=$zipped
}

here="${1:-$root/target/site/pkg}"
sizes "$here"
if [ $# -ge 2 ]; then
  a=$FIRST_GZIP
  sizes "$2"
  printf 'first page gzip difference (first - second): %d bytes\n' $((a - FIRST_GZIP))
fi
