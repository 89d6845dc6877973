# Shared by scripts/load.sh and scripts/render-cost.sh (sourced, after `root`, `rows`
# and `addr` are set, and `server` if another build is measured): the release build
# (LOAD_BUILD=0 keeps the one there), a fresh data directory removed on exit, and one
# Vietnamese customer whose account holds `rows` ledger rows. Then `wait_for_server`
# and `sign_in` (which sets `cookie`) serve the measuring loops.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
if [ "${LOAD_BUILD:-1}" != 0 ] || [ ! -x target/release/server ]; then
  say "release build"
  bash scripts/release-build.sh
fi
server="${server:-$root/target/release/server}"

data="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
export DATA_DIR="$data"
[ -n "${LOAD_DATABASE_URL:-}" ] && export DATABASE_URL="$LOAD_DATABASE_URL"
# A PostgreSQL on this machine, named without an sslmode: no TLS (sqlx's default,
# `prefer`, encrypts loopback for nothing, a fifth of the database's time per page;
# docs/benchmarks.md). A URL that names its sslmode keeps it.
if [[ "${DATABASE_URL:-}" =~ ^postgres(ql)?://[^/]*@?(127\.0\.0\.1|localhost)[:/] ]] &&
  [[ "$DATABASE_URL" != *sslmode=* ]]; then
  [[ "$DATABASE_URL" == *\?* ]] && DATABASE_URL+="&sslmode=disable" || DATABASE_URL+="?sslmode=disable"
  echo "the database is on this machine: connecting without TLS (sslmode=disable)"
fi
# PostgreSQL here shares the server's two cores: a pool of about twice the cores queues
# requests in the pool rather than in the kernel (README, DATABASE_POOL_SIZE;
# docs/benchmarks.md). LOAD_POOL_SIZE sets another, on either database.
if [ -n "${LOAD_POOL_SIZE:-}" ]; then
  export DATABASE_POOL_SIZE="$LOAD_POOL_SIZE"
elif [[ "${DATABASE_URL:-}" == postgres* ]]; then
  export DATABASE_POOL_SIZE=4
fi
[ -n "${DATABASE_POOL_SIZE:-}" ] && echo "database pool: $DATABASE_POOL_SIZE connections"
export LEPTOS_OUTPUT_NAME=billing
export LEPTOS_SITE_ROOT="$root/target/site"
export LEPTOS_SITE_ADDR="$addr"
# The built-in gateway sandboxes: the pages measured are the same with real gateways.
export PAYMENT_SANDBOX=on
email="load@example.com"
password="load-password"

say "a customer with $rows ledger rows"
NEW_USER_PASSWORD="$password" "$server" create-user --email "$email" --role customer \
  --country VN --currency VND --time-zone Asia/Ho_Chi_Minh >/dev/null
seed_start=$SECONDS
"$server" seed-history --email "$email" --rows "$rows"
echo "seeded in $((SECONDS - seed_start)) s"
"$server" audit --email "$email"

# Waits (up to two minutes: valgrind starts slowly) until the server started in the
# background answers.
wait_for_server() {
  for _ in $(seq 1 600); do
    curl -sf "http://$addr/healthz" >/dev/null && return
    sleep 0.2
  done
}

# Signs in as the browser does (the server function, with our Origin) and keeps the
# session in `cookie`; the history page must then be the customer's.
sign_in() {
  cookie="$(curl -s -o /dev/null -D - -H "Origin: http://$addr" \
    --data-urlencode "email=$email" --data-urlencode "password=$password" \
    "http://$addr/rpc/sign_in" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(billing_session=[^;]*\).*/\1/p')"
  [ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
  curl -sf -H "Cookie: $cookie" "http://$addr/billing/history" | grep -q "TU-SEED" ||
    { echo "the signed-in history page did not show the seeded rows" >&2; exit 1; }
}
