#!/usr/bin/env bash
# Event fan-out: the events per second that one orgql instance fans out to
# 1,000 `organizationEvents` subscribers (graphql-ws over WebSocket) on
# loopback, and the delivery delay. One command:
#
#   scripts/bench-events.sh                                   # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432 scripts/bench-events.sh
#   SUBSCRIBERS=2000 EVENTS=500 RATE=0 ROUNDS=3 scripts/bench-events.sh
#
# Starts the server (ORGQL_BIN, default target/release/orgql, built with
# `cargo build --release` only when missing) on a free loopback port with a
# fresh database: a temporary SQLite file, or with DATABASE_URL a new
# PostgreSQL database on that server (created with psql, dropped after).
# Signs a user up (the verification link is read from the mail directory),
# creates an organization, and runs benches/events/fanout.mjs (`npm ci`
# first when needed): SUBSCRIBERS sockets subscribe, then EVENTS
# `updateOrganization` mutations are made at RATE per second, and every
# subscriber must receive every event once. See fanout.mjs for what the
# delays measure.
#
# Prints fanout.mjs's report and its RESULT line per round, the server's
# CPU time and the warnings in its log, and last
#   RESULT subscribers=… events=… deliveries=… lost=… dup=… fanout_per_s=…
#          p50_ms=… p99_ms=… max_ms=… …
# (with ROUNDS > 1: each figure the median over the rounds, on one server).
# Exits 0 when every round had every subscriber live and every delivery made
# once (no loss, no duplicate, no error), 1 otherwise, 2 on a setup error.
#
# Env: ORGQL_BIN, DATABASE_URL (unset: SQLite), SUBSCRIBERS (1000),
#      EVENTS (200), RATE (20 mutations/s; 0: back to back), ROUNDS (1),
#      DB_CONNECTIONS (server pool; unset: the server's default, 4 per core),
#      KEEP (1: keep the temporary directory with the logs), and fanout.mjs's
#      CONNECT_CONCURRENCY, SETTLE_MS, READY_TIMEOUT_MS, DRAIN_TIMEOUT_MS,
#      IDLE_MS.
# Needs: curl, python3, Node 20+ and npm (the npm registry, once), psql for
# PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=bench-events
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"
BENCH_DIR=$ROOT/benches/events

SUBSCRIBERS=${SUBSCRIBERS:-1000}
EVENTS=${EVENTS:-200}
RATE=${RATE:-20}
ROUNDS=${ROUNDS:-1}
ORGQL_BIN=${ORGQL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/orgql}

for tool in curl python3 node npm; do
  command -v "$tool" >/dev/null || { echo "bench-events: needs $tool" >&2; exit 2; }
done

# 1,000 sockets here and as many in the server: 2,000+ descriptors. Both
# processes are children of this shell and inherit the limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((SUBSCRIBERS + 256)) ]; then
  echo "bench-events: ulimit -n is $(ulimit -n), too few for $SUBSCRIBERS sockets" >&2
  exit 2
fi

if [ ! -x "$ORGQL_BIN" ]; then
  echo "bench-events: building $ORGQL_BIN (cargo build --release)" >&2
  cargo build --release --quiet --bin orgql
  [ -x "$ORGQL_BIN" ] || { echo "bench-events: no binary at $ORGQL_BIN" >&2; exit 2; }
fi

if [ ! -d "$BENCH_DIR/node_modules/graphql-ws" ] ||
  [ "$BENCH_DIR/package-lock.json" -nt "$BENCH_DIR/node_modules/.package-lock.json" ]; then
  (cd "$BENCH_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/orgql-bench-events.XXXXXX")
PORT=$(bench_free_port)
BASE="http://127.0.0.1:$PORT"

bench_fresh_database
server=""
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# The settings raised for the bench: sockets per person (all subscribers
# are one user), the sign-in rate limits, tokens that outlive the run (a
# socket closes when its token expires), and cheap password hashing for
# the one sign-up.
SOCKETS=$((SUBSCRIBERS + 64))
[ "$SOCKETS" -ge 2000 ] || SOCKETS=2000
env ORGQL_DATABASE_URL="$DB_URL" ORGQL_LISTEN="127.0.0.1:$PORT" ORGQL_PUBLIC_URL="$BASE" \
  ORGQL_MAIL_DIR="$OUT/mail" ORGQL_SOCKETS_PER_USER=$SOCKETS \
  ORGQL_RATE_LIMIT_PER_IP=100000 ORGQL_RATE_LIMIT_PER_ACCOUNT=100000 \
  ORGQL_ACCESS_TOKEN_TTL_SECS=86400 ORGQL_INSECURE_FAST_PASSWORD_HASHING=true \
  ${DB_CONNECTIONS:+ORGQL_DB_MAX_CONNECTIONS=$DB_CONNECTIONS} \
  RUST_LOG=${RUST_LOG:-warn} ORGQL_LOG_FORMAT=text \
  "$ORGQL_BIN" serve >"$OUT/server.log" 2>&1 &
server=$!
bench_wait_ready "$BASE" "$server" "$OUT/server.log"

# gql QUERY VARIABLES_JSON [TOKEN] -> the response's data, or exits.
gql() {
  local body
  body=$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "variables": json.loads(sys.argv[2])}))' "$1" "$2")
  curl -fsS "$BASE/graphql" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} -d "$body" |
    python3 -c '
import json, sys
r = json.load(sys.stdin)
if r.get("errors") or not r.get("data"):
    sys.exit("bench-events: GraphQL error: " + json.dumps(r))
print(json.dumps(r["data"]))'
}
field() { python3 -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"; }

EMAIL=fanout@example.com
PASSWORD="fanout-bench-$$-Qx7#vLm2"
gql 'mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }' \
  "{\"i\": {\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\", \"name\": \"Fanout Bench\"}}" >/dev/null
verification=""
for _ in $(seq 1 50); do
  verification=$(python3 - "$OUT/mail" <<'PY'
import email, email.policy, pathlib, re, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("**/*.eml")):
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found = re.search(r"/verify-email\?token=([A-Za-z0-9_\-.~%]+)", part.get_content())
            if found:
                print(found.group(1))
                sys.exit(0)
PY
  ) || true
  [ -n "$verification" ] && break
  sleep 0.2
done
[ -n "$verification" ] || { echo "bench-events: no verification mail in $OUT/mail" >&2; exit 2; }
gql 'mutation($t: String!) { verifyEmail(input: { token: $t }) { __typename } }' "{\"t\": \"$verification\"}" >/dev/null
TOKEN=$(gql 'mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }' \
  "{\"e\": \"$EMAIL\", \"p\": \"$PASSWORD\"}" | field logIn.accessToken)
ORG=$(gql 'mutation { createOrganization(input: { name: "Fanout Bench" }) { organization { id } } }' '{}' "$TOKEN" |
  field createOrganization.organization.id)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat" 2>/dev/null || echo 0; }
# PostgreSQL's CPU, when it runs on this machine: all its processes'.
pg_ticks() {
  local total=0 pid
  for pid in $(pgrep -x postgres 2>/dev/null || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICKS=$(getconf CLK_TCK)

echo "bench-events: $BACKEND, orgql $("$ORGQL_BIN" --version 2>/dev/null | awk '{print $NF}'), $SUBSCRIBERS subscribers," \
  "$EVENTS events at ${RATE}/s (0: back to back), $(nproc) cores, pool ${DB_CONNECTIONS:-default}"
status=0
: >"$OUT/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" = 1 ] || echo "== round $round/$ROUNDS"
  before=$(cpu_ticks) pg_before=$(pg_ticks) started=$(date +%s.%N)
  URL="$BASE/graphql" TOKEN="$TOKEN" ORG="$ORG" SUBSCRIBERS=$SUBSCRIBERS EVENTS=$EVENTS RATE=$RATE \
    node "$BENCH_DIR/fanout.mjs" | tee "$OUT/fanout-$round.log" || status=1
  after=$(cpu_ticks) pg_after=$(pg_ticks) ended=$(date +%s.%N)
  server_cpu=$(python3 -c "print(f'{($after - $before) / $TICKS:.2f}')")
  extra=""
  if [ "$BACKEND" = postgres ] && [ "$pg_after" -gt 0 ]; then
    pg_cpu=$(python3 -c "print(f'{($pg_after - $pg_before) / $TICKS:.2f}')")
    extra=" pg_cpu_s=$pg_cpu"
  fi
  echo "bench-events: server CPU ${server_cpu} s${extra:+, PostgreSQL CPU ${pg_cpu} s} over" \
    "$(python3 -c "print(f'{$ended - $started:.2f}')") s ($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  line=$(grep '^RESULT ' "$OUT/fanout-$round.log" || true)
  [ -n "$line" ] || { status=1; continue; }
  echo "$line server_cpu_s=$server_cpu$extra" >>"$OUT/results.txt"
done

# The server's complaints, if any.
warnings=$(grep -E -c '\b(WARN|ERROR)\b' "$OUT/server.log" || true)
echo "bench-events: server log: $warnings warning/error lines"
if [ "$warnings" != 0 ]; then
  grep -E '\b(WARN|ERROR)\b' "$OUT/server.log" | sed -E 's/^[0-9TZ:.-]+ +//' | sort | uniq -c | sort -rn | head -20
fi

[ -s "$OUT/results.txt" ] || { echo "bench-events: no RESULT" >&2; exit 1; }
python3 - "$OUT/results.txt" "$ROUNDS" <<'PY'
import re, statistics, sys
rows = [re.findall(r"(\w+)=(\S+)", line) for line in open(sys.argv[1])]
if len(rows) == 1:
    print("RESULT " + " ".join(f"{k}={v}" for k, v in rows[0]))
    sys.exit(0)
out = []
for key, _ in rows[0]:
    values = [dict(r).get(key) for r in rows]
    try:
        nums = [float(v) for v in values]
    except (TypeError, ValueError):
        out.append(f"{key}={values[-1]}")
        continue
    if key in ("lost", "dup", "errors"):
        out.append(f"{key}={int(sum(nums))}")  # totals: any loss shows
    else:
        m = statistics.median(nums)
        out.append(f"{key}={m:.0f}" if m == int(m) and "ms" not in key else f"{key}={m:.1f}")
print(f"RESULT rounds={len(rows)} " + " ".join(out))
PY
exit "$status"
