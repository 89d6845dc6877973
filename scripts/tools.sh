#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already there:
# the wasm target, the wasm-bindgen CLI matching Cargo.lock, the bundle's splitter
# (scripts/wasm-split), binaryen's optimiser (npm's binaryen: Debian's breaks hydration),
# esbuild and lightningcss (npm; the bundle's JavaScript and style sheet), Chromium, and
# the Playwright packages. cargo-leptos is not needed: scripts/release-build.sh runs its
# steps itself. Source it: it also puts the tools on PATH, and names the splitter in
# WASM_SPLIT.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools"
export PATH="$HOME/.cargo/bin:$tools/node_modules/.bin:$PATH"

BINARYEN_VERSION=132.0.0
ESBUILD_VERSION=0.28.2
LIGHTNINGCSS_VERSION=1.33.0
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The tools are build helpers, not the product: compile them without fat LTO or a single
# codegen unit, at opt-level 1, so a new machine reaches its first build sooner. Config
# overrides the installed crate's own [profile.release]. Measured on cargo-leptos, when
# the build used it (docs/benchmarks.md): 638 s to install at opt-level 1 against 722 s
# at 3, and the same bundle, byte for byte, in the same time.
fast_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install "$@"
}

# Installs Debian packages (as root, or through sudo). load.sh uses it too.
apt_install() {
  local sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen crate exactly. Not --locked: its lock file wants a
# webpki-roots the registry here does not have.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
if ! wasm-bindgen --version 2>/dev/null | grep -q "$wb_version"; then
  say "installing wasm-bindgen-cli $wb_version"
  fast_install wasm-bindgen-cli --version "$wb_version" --force
fi

# The splitter, built where every checkout on this machine finds it: a fresh clone then
# compiles its 40 lines, not its dependencies (a minute or two of the test command). Built
# without the caller's RUSTFLAGS or clippy wrapper, so every caller shares one build.
splitter_dir="${XDG_CACHE_HOME:-$HOME/.cache}/billing-tools/wasm-split"
export WASM_SPLIT="$splitter_dir/release/wasm-split"
[ -x "$WASM_SPLIT" ] || say "building the bundle's splitter (scripts/wasm-split)"
env -u RUSTFLAGS -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS CARGO_INCREMENTAL=0 \
  cargo build --quiet --locked --release --manifest-path "$root/scripts/wasm-split/Cargo.toml" \
  --target-dir "$splitter_dir"

# One npm install for the three: a later `npm install --no-save` would prune the others.
if ! "$tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "${BINARYEN_VERSION%%.*}" ||
  ! "$tools/node_modules/.bin/esbuild" --version 2>/dev/null | grep -qx "$ESBUILD_VERSION" ||
  ! "$tools/node_modules/.bin/lightningcss" --version >/dev/null 2>&1; then
  say "installing binaryen $BINARYEN_VERSION, esbuild and lightningcss (npm)"
  npm install --prefix "$tools" --no-save --no-audit --no-fund "binaryen@$BINARYEN_VERSION" \
    "esbuild@$ESBUILD_VERSION" "lightningcss-cli@$LIGHTNINGCSS_VERSION" >/dev/null
fi

if ! command -v chromium >/dev/null 2>&1; then
  say "installing Chromium from Debian's packages"
  apt_install chromium
fi

# A font with Japanese glyphs, so the Japanese pages render (and measure) as people
# see them; Debian's Chromium has none of its own.
if ! fc-list :lang=ja 2>/dev/null | grep -q .; then
  say "installing a Japanese font (Debian's fonts-noto-cjk)"
  apt_install fonts-noto-cjk
fi

if [ ! -d "$root/end2end/node_modules/@playwright/test" ] || [ ! -d "$root/end2end/node_modules/@axe-core/playwright" ]; then
  say "installing the Playwright packages (end2end/)"
  (cd "$root/end2end" && npm ci --no-audit --no-fund >/dev/null)
fi
