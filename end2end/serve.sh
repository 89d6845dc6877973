#!/usr/bin/env bash
# Starts the release server for Playwright on a fresh SQLite database with the demo
# data and a second customer (USD, no credit).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DATA_DIR="$root/end2end/.data"
export LEPTOS_OUTPUT_NAME=billing
export LEPTOS_SITE_ROOT="$root/target/site"
export LEPTOS_SITE_ADDR="${E2E_ADDR:-127.0.0.1:3100}"
export PAYMENT_SANDBOX=on
rm -rf "$DATA_DIR"
server="$root/target/${E2E_PROFILE:-release}/server"
"$server" demo
NEW_USER_PASSWORD=second-password "$server" create-user \
  --email second@example.com --role customer --country US --currency USD
exec "$server" serve
