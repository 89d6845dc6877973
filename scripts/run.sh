#!/usr/bin/env bash
# Runs the app: installs what is missing, builds (release), migrates the SQLite
# database in ./data (or DATABASE_URL), loads the demo data, and serves.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# On a new machine the tools (cargo-leptos above all) take as long to compile as the
# app, and neither keeps both cores busy all the time: compile the app beside them
# (cargo alone can), and let cargo-leptos then split, bind and optimise it. Measured in
# docs/benchmarks.md ("Build and test times").
mkdir -p target
echo "==> compiling the app (release) beside the tools; its log: target/release-compile.log" >&2
bash scripts/release-build.sh --compile-only >target/release-compile.log 2>&1 &
compile=$!
trap 'pkill -P "$compile" 2>/dev/null; kill "$compile" 2>/dev/null || true' EXIT
source scripts/tools.sh
if ! wait "$compile"; then
  tail -n 40 target/release-compile.log >&2
  exit 1
fi
trap - EXIT

bash scripts/release-build.sh

export DATA_DIR="${DATA_DIR:-$root/data}"
export LEPTOS_OUTPUT_NAME=billing
export LEPTOS_SITE_ROOT="$root/target/site"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
# The built-in gateway sandboxes (VNPay, Stripe, PayPal); production leaves this off.
export PAYMENT_SANDBOX="${PAYMENT_SANDBOX:-on}"
server="$root/target/release/server"

"$server" migrate
"$server" demo

cat <<INFO

  AI Cloud Credits is running at http://$LEPTOS_SITE_ADDR

  Demo logins (password: demo-password)
    demo@example.com    customer, VND account with history
    new@example.com     customer, no billing profile yet
    admin@example.com   operator (console: /ops/vouchers)
  Voucher code for demo@example.com: WELCOME-VND (Overview → Apply Code)
  Usage API key: demo-metering-key
    account id of demo@example.com: $("$server" account-id --email demo@example.com)

INFO
exec "$server" serve
