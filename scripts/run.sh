#!/usr/bin/env bash
# Runs the app: installs what is missing, builds (release), migrates the SQLite
# database in ./data (or DATABASE_URL), loads the demo data, and serves.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/tools.sh

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
