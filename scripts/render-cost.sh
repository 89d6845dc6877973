#!/usr/bin/env bash
# The server's work per page, in instructions (issue 13, "Pages under load"): the
# release server under valgrind's callgrind on a fresh SQLite database holding one
# Vietnamese customer with RENDER_ROWS (1,000,000) ledger rows; per page, 20 signed-in
# requests to warm up, then RENDER_REQUESTS (100) counted, one at a time. Instructions
# do not move with whatever else the machine runs, as requests/s do (scripts/load.sh),
# so two builds can be compared on a busy machine; on one machine the same binary
# repeated within 4–8% (tokio's and sqlx's threads hand work over differently from run
# to run). Not part of the test command. Installs valgrind if missing.
#
#   bash scripts/render-cost.sh
#   RENDER_BIN=/tmp/server-before bash scripts/render-cost.sh   # another build, same pages
#   LOAD_BUILD=0 bash scripts/render-cost.sh                    # the release build as it is
#   RENDER_KEEP=/tmp/profiles bash scripts/render-cost.sh       # keep each page's profile
#                                                               # (callgrind_annotate reads it)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows="${RENDER_ROWS:-1000000}"
requests="${RENDER_REQUESTS:-100}"
addr="${RENDER_ADDR:-127.0.0.1:3301}"

source scripts/tools.sh
if ! command -v valgrind >/dev/null 2>&1; then
  say "installing valgrind from Debian's packages"
  apt_install valgrind
fi
server="${RENDER_BIN:-}"
source scripts/seeded-customer.sh

pages=(
  "/billing"
  "/billing/history"
  "/billing/history?service=ai_inference&status=success&from=2026-01-01&to=2026-03-31"
)
results=()
for page in "${pages[@]}"; do
  say "$page: $requests requests under callgrind"
  # Counting starts switched off (`--instr-atstart=no`): start-up, the sign-in and the
  # warm-up are not counted.
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$data/callgrind.%p" \
    "$server" serve >"$data/server.log" 2>&1 &
  server_pid=$!
  wait_for_server
  sign_in
  for _ in $(seq 1 20); do curl -sf -o /dev/null -H "Cookie: $cookie" "http://$addr$page"; done
  callgrind_control -i on "$server_pid" >/dev/null
  for _ in $(seq 1 "$requests"); do curl -sf -o /dev/null -H "Cookie: $cookie" "http://$addr$page"; done
  callgrind_control -i off "$server_pid" >/dev/null
  callgrind_control -d "$server_pid" >/dev/null
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  total=$(awk '/^(totals|summary):/ {s += $2} END {print s}' "$data"/callgrind.*.1)
  results+=("| \`$page\` | $(( total / requests )) |")
  if [ -n "${RENDER_KEEP:-}" ]; then
    mkdir -p "$RENDER_KEEP"
    cp "$data"/callgrind.*.1 "$RENDER_KEEP/$(tr -c 'a-z0-9\n' '_' <<<"${page#/}").callgrind"
  fi
  rm -f "$data"/callgrind.*
done

printf '\n%s rows, %s requests per page, %s\n\n' "$rows" "$requests" "$server"
echo "| page | instructions per request |"
echo "|---|---:|"
printf '%s\n' "${results[@]}"
