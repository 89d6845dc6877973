#!/usr/bin/env bash
# The release build: the server, and the browser bundle split into lazy pieces, into target/site.
# The same steps, arguments and environment as `cargo leptos build --release --split`
# (cargo-leptos 0.3.10, with Cargo.toml's [workspace.metadata.leptos]), run here without
# cargo-leptos: its own compile (swc, cargo-generate's git and OpenSSL stack, ...) was
# 10 to 25 minutes of a new machine's first run, for a build whose work is cargo,
# wasm-bindgen and wasm-opt (docs/decisions.md, "The release build without cargo-leptos").
#
#   bash scripts/release-build.sh                  # both
#   bash scripts/release-build.sh --frontend-only  # the browser bundle (the test command)
#   bash scripts/release-build.sh --server-only    # the server
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
source scripts/tools.sh >/dev/null

front=1 server=1
case "${1:-}" in
  "") ;;
  --frontend-only) server=0 ;;
  --server-only) front=0 ;;
  *) echo "usage: $0 [--frontend-only | --server-only]" >&2; exit 2 ;;
esac

name=billing site=target/site pkg=target/site/pkg
# What cargo-leptos hands both compiles (its `Project::to_envs`): Leptos reads some at
# compile time (the bundle's name) and the server reads the site's at run time.
export LEPTOS_OUTPUT_NAME=$name LEPTOS_SITE_ROOT=$site LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend \
  LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false
# Flags in cargo-leptos' order (a build of either reuses the other's compile): erased
# views in every build (`always-erase-components`), as the test build has them too, and
# for the wasm the linker's relocations, which the splitter follows.
rustflags="${RUSTFLAGS:+$RUSTFLAGS }--remap-path-prefix=$root=/billing"

build_front() {
  say "browser bundle: the wasm (wasm-release profile)"
  RUSTFLAGS="$rustflags -Clink-args=--emit-relocs --cfg erase_components" \
    cargo build --package=frontend --lib --target-dir=target/front \
    --target=wasm32-unknown-unknown --no-default-features --profile=wasm-release
  local out=target/front/wasm32-unknown-unknown/wasm-release
  say "browser bundle: split into lazy pieces, bound, optimised"
  rm -rf "$pkg"
  mkdir -p "$pkg"
  # The pieces and their loader go straight to pkg/; the main module on to wasm-bindgen.
  local pieces
  pieces=$("$WASM_SPLIT" "$out/frontend.wasm" "$pkg" \
    "$out/frontend_split.wasm" "$name")
  wasm-bindgen --target=web --keep-lld-exports --no-demangle --out-name=$name \
    --out-dir=$pkg "$out/frontend_split.wasm"
  # The name Leptos' `HydrationScripts` asks for.
  mv "$pkg/${name}_bg.wasm" "$pkg/$name.wasm"
  # wasm-opt -Oz on every file (cargo-leptos' flags): binaryen loaded once per process,
  # one process per core (scripts/wasm-opt.mjs), the files dealt out largest first so
  # the shares come out even. Binaryen's warning about the name section's newer
  # subsections (one per file) is left out.
  local files cores i j
  mapfile -t files < <(ls -S "$pkg/$name.wasm" $pieces)
  cores=$(nproc)
  local optimisers=()
  for ((i = 0; i < cores; i++)); do
    local share=()
    for ((j = i; j < ${#files[@]}; j += cores)); do share+=("${files[j]}"); done
    [ "${#share[@]}" -gt 0 ] || continue
    node scripts/wasm-opt.mjs "${share[@]}" 2> >(grep -v '^warning: unknown name subsection' >&2) &
    optimisers+=("$!")
  done
  for i in "${optimisers[@]}"; do wait "$i"; done
  # The bindings, minified (cargo-leptos uses swc; esbuild keeps the module's exports).
  esbuild --minify --format=esm --log-level=warning "$pkg/$name.js" \
    --outfile="$pkg/$name.min.js"
  mv "$pkg/$name.min.js" "$pkg/$name.js"
  # The style sheet, for the browsers of `browserquery` ("defaults"), minified.
  lightningcss --minify --targets defaults style/main.css -o "$pkg/$name.css"
  # public/ is the site's root.
  cp -R public/. "$site/"
}

build_server() {
  say "server (release)"
  RUSTFLAGS="$rustflags --cfg erase_components" \
    cargo build --package=server --bin=server --no-default-features --release
}

# One at a time: each keeps both cores busy, and the bundle's wasm-opt (one process per
# file) then has them to itself.
if [ "$front" = 1 ]; then build_front; fi
if [ "$server" = 1 ]; then build_server; fi
