#!/usr/bin/env bash
# Pages under load (issue 13): the release server on a fresh SQLite database (or
# LOAD_DATABASE_URL, e.g. a PostgreSQL database of its own) with one Vietnamese customer
# whose account holds LOAD_ROWS (1,000,000) ledger rows; then wrk, with LOAD_CONNECTIONS
# (64) connections for LOAD_SECONDS (30) s each, on /healthz (the baseline: no session,
# no database), the signed-in Overview, Credit History's first page and a filtered page.
# Prints requests/s, latency percentiles, CPU time per request (the server's, the
# database's on PostgreSQL, and the whole machine's, wrk included) and errors per page.
# Not part of the test command (it takes minutes and measures the machine); installs
# wrk if missing.
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
source scripts/seeded-customer.sh

"$server" serve >"$data/server.log" 2>&1 &
server_pid=$!
wait_for_server
sign_in

pages=(
  "/healthz"
  "/billing"
  "/billing/history"
  "/billing/history?service=ai_inference&status=success&from=2026-01-01&to=2026-03-31"
)
# CPU time so far (user + system), in clock ticks: the server's, the whole machine's
# (every process, wrk and the database included) and, on PostgreSQL, its processes'.
ticks=$(getconf CLK_TCK)
server_cpu() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
machine_cpu() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
database_cpu() {
  local pids
  pids=$(pgrep -x postgres || true)
  [ -n "$pids" ] || { echo 0; return; }
  # A process may end between pgrep and the read: it then counts as nothing.
  for pid in $pids; do cat "/proc/$pid/stat" 2>/dev/null || true; done |
    awk '{sum += $14 + $15} END {print sum + 0}'
}
per_request() { echo $(( $1 * 1000000 / ticks / (count > 0 ? count : 1) )); }

results=()
for page in "${pages[@]}"; do
  say "$page: $connections connections, $seconds s"
  cpu_before=$(server_cpu) machine_before=$(machine_cpu) database_before=$(database_cpu)
  out="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Cookie: $cookie" "http://$addr$page")"
  cpu_after=$(server_cpu) machine_after=$(machine_cpu) database_after=$(database_cpu)
  echo "$out"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' <<<"$out")"
  # The server's own CPU per request: steadier from run to run than requests/s, which
  # moves with whatever else the machine runs (wrk shares its two cores).
  count="$(awk '/requests in/ {print $1}' <<<"$out")"
  cpu_us=$(per_request $((cpu_after - cpu_before)))
  machine_us=$(per_request $((machine_after - machine_before)))
  database_us=$(per_request $((database_after - database_before)))
  results+=("| \`$page\` | $rps | $p50 | $p99 | $cpu_us µs | $database_us µs | $machine_us µs | ${errors:-none} |")
done

printf '\n%s rows, %s connections, %s s per page (wrk -t2 on the same 2 cores as the server)\n\n' \
  "$rows" "$connections" "$seconds"
echo "| page | requests/s | p50 | p99 | server CPU / request | database CPU / request | machine CPU / request | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${results[@]}"
