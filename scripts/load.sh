#!/usr/bin/env bash
# Pages under load (issue 13): the release server on a fresh SQLite database (or
# LOAD_DATABASE_URL, e.g. a PostgreSQL database of its own) with one Vietnamese customer
# whose account holds LOAD_ROWS (1,000,000) ledger rows; then wrk, with LOAD_CONNECTIONS
# (64) connections for LOAD_SECONDS (30) s each, on /healthz (the baseline: no session,
# no database), the signed-in Overview, Credit History's first page and a filtered page.
# Prints requests/s, latency percentiles, the server's CPU time per request and errors
# per page. Not part of the test command (it takes minutes and measures the machine);
# installs wrk if missing.
#
#   bash scripts/load.sh
#   LOAD_ROWS=100000 LOAD_SECONDS=10 bash scripts/load.sh     # quicker
#   LOAD_BUILD=0 bash scripts/load.sh                           # the release build as it is
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows="${LOAD_ROWS:-1000000}"
seconds="${LOAD_SECONDS:-30}"
connections="${LOAD_CONNECTIONS:-64}"
addr="${LOAD_ADDR:-127.0.0.1:3300}"

source scripts/tools.sh
if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk from Debian's packages"
  apt_install wrk
fi
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
if [ "${LOAD_BUILD:-1}" != 0 ] || [ ! -x target/release/server ]; then
  say "release build"
  bash scripts/release-build.sh
fi

data="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
export DATA_DIR="$data"
[ -n "${LOAD_DATABASE_URL:-}" ] && export DATABASE_URL="$LOAD_DATABASE_URL"
export LEPTOS_OUTPUT_NAME=billing
export LEPTOS_SITE_ROOT="$root/target/site"
export LEPTOS_SITE_ADDR="$addr"
# The built-in gateway sandboxes: the pages measured are the same with real gateways.
export PAYMENT_SANDBOX=on
server="$root/target/release/server"
email="load@example.com"
password="load-password"

say "a customer with $rows ledger rows"
NEW_USER_PASSWORD="$password" "$server" create-user --email "$email" --role customer \
  --country VN --currency VND --time-zone Asia/Ho_Chi_Minh >/dev/null
seed_start=$SECONDS
"$server" seed-history --email "$email" --rows "$rows"
echo "seeded in $((SECONDS - seed_start)) s"
"$server" audit --email "$email"

"$server" serve >"$data/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://$addr/healthz" >/dev/null && break
  sleep 0.2
done

# Sign in as the browser does (the server function, with our Origin); keep the cookie.
cookie="$(curl -s -o /dev/null -D - -H "Origin: http://$addr" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" \
  "http://$addr/rpc/sign_in" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(billing_session=[^;]*\).*/\1/p')"
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
# The page must be the customer's, not the sign-in page.
curl -sf -H "Cookie: $cookie" "http://$addr/billing/history" | grep -q "TU-SEED" ||
  { echo "the signed-in history page did not show the seeded rows" >&2; exit 1; }

pages=(
  "/healthz"
  "/billing"
  "/billing/history"
  "/billing/history?service=ai_inference&status=success&from=2026-01-01&to=2026-03-31"
)
# The server's CPU time so far (user + system), in clock ticks.
ticks=$(getconf CLK_TCK)
server_cpu() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

results=()
for page in "${pages[@]}"; do
  say "$page: $connections connections, $seconds s"
  cpu_before=$(server_cpu)
  out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Cookie: $cookie" "http://$addr$page")"
  cpu_after=$(server_cpu)
  echo "$out"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")"
  # The server's own CPU per request: steadier from run to run than requests/s, which
  # moves with whatever else the machine runs (wrk shares its two cores).
  count="$(awk '/requests in/ {print $1}' <<<"$out")"
  cpu_us=$(( (cpu_after - cpu_before) * 1000000 / ticks / (count > 0 ? count : 1) ))
  results+=("| \`$page\` | $rps | $p50 | $p99 | $cpu_us µs | ${errors:-none} |")
done

printf '\n%s rows, %s connections, %s s per page (wrk -t2 on the same 2 cores as the server)\n\n' \
  "$rows" "$connections" "$seconds"
echo "| page | requests/s | p50 | p99 | server CPU / request | errors |"
echo "|---|---:|---:|---:|---:|---|"
printf '%s\n' "${results[@]}"
