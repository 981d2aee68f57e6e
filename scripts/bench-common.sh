# Shared by the bench scripts (bench-login.sh, bench-events.sh,
# bench-enterprise.sh): sourced, not run. Each function names its caller in
# what it prints (BENCH, set before sourcing).

# A free loopback TCP port.
bench_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_wait_ready BASE PID LOG: waits up to 30 s for the server PID at
# BASE to answer /readyz; exits 2, with the end of LOG, if it stops or
# never does.
bench_wait_ready() {
  local base=$1 pid=$2 log=$3
  for _ in $(seq 1 150); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$BENCH: the server stopped:" >&2; tail -20 "$log" >&2; exit 2; }
    sleep 0.2
  done
  echo "$BENCH: the server is not ready" >&2
  tail -20 "$log" >&2
  exit 2
}

# bench_log_in BASE EMAIL PASSWORD: prints an access token, or exits 2.
bench_log_in() {
  local body
  body=$(python3 -c 'import json, sys; print(json.dumps({"query": "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }", "variables": {"e": sys.argv[1], "p": sys.argv[2]}}))' "$2" "$3")
  curl -fsS "$1/graphql" -H 'content-type: application/json' -d "$body" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["logIn"]["accessToken"])' ||
    { echo "$BENCH: $2 could not log in" >&2; exit 2; }
}

# bench_fresh_database: a fresh database for the run, in OUT (set first):
# with DATABASE_URL=postgres://…, a new database on that server (created
# with psql, dropped by bench_cleanup); otherwise a SQLite file in OUT.
# Sets DB_URL, BACKEND (postgres or sqlite), PG_ADMIN and PG_DB.
bench_fresh_database() {
  PG_ADMIN="" PG_DB=""
  if [ -z "${DATABASE_URL:-}" ]; then
    DB_URL="sqlite://$OUT/orgql.db?mode=rwc"
    BACKEND=sqlite
    return
  fi
  command -v psql >/dev/null || { echo "$BENCH: needs psql for PostgreSQL" >&2; exit 2; }
  if [[ ! $DATABASE_URL =~ ^(postgres(ql)?://[^/?]+)(/[^?]*)?(\?.*)?$ ]]; then
    echo "$BENCH: DATABASE_URL is not postgres://USER@HOST[:PORT][/DB][?…]" >&2
    exit 2
  fi
  local server=${BASH_REMATCH[1]} query=${BASH_REMATCH[4]}
  PG_ADMIN="$server/postgres$query"
  PG_DB="orgql_${BENCH//-/_}_$$"
  PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$PG_ADMIN" \
    -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
  DB_URL="$server/$PG_DB$query"
  BACKEND=postgres
}

# bench_cleanup: the EXIT trap. Stops the server ($server, if any), drops
# the database bench_fresh_database made, and removes OUT unless KEEP=1.
bench_cleanup() {
  local status=$?
  if [ -n "${server:-}" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ -n "${PG_DB:-}" ]; then
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -f "$OUT"/orgql.db*
  if [ "${KEEP:-0}" = 1 ]; then
    echo "$BENCH: logs kept in $OUT" >&2
  else
    rm -rf "$OUT"
  fi
  exit "$status"
}
