#!/usr/bin/env bash
# Log-in flood (issue #26): log-ins per second that one orgql instance
# checks with the production argon2id parameters, and the p99 of a nested
# query (the one scripts/load.sh uses: organization -> 100 members -> user
# and teams) alone and during a flood of log-ins; the flood may raise it at
# most 2x. One command:
#
#   scripts/bench-login.sh                                    # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432 scripts/bench-login.sh
#   ROUNDS=5 DURATION_S=30 HASHING_CONCURRENCY=2 scripts/bench-login.sh
#
# Starts the server (ORGQL_BIN, default target/release/orgql, built with
# `cargo build --release` only when missing) on a free loopback port with a
# fresh database: a temporary SQLite file, or with DATABASE_URL a new
# PostgreSQL database on that server (created with psql, dropped after).
# Seeds it with `orgql seed` (ORGS organizations of MEMBERS members; every
# seeded account has the demo password, hashed with the production
# parameters), and the server hashes with the production parameters too
# (no ORGQL_INSECURE_FAST_PASSWORD_HASHING). Then, ROUNDS times,
# benches/login/flood.mjs runs three phases (see there): the nested query
# alone at QUERY_RATE per second, LOGIN_CONNECTIONS log-ins at once alone,
# then both together.
#
# Prints each round's phases, the server's CPU time and the load average
# (other work on the machine skews the figures: read them with it), the
# warnings in the server's log, and last
#   RESULT rounds=… logins_per_s=… query_alone_p99_ms=… query_flood_p99_ms=…
#          p99_ratio=… …
# each figure the median over the rounds (p99_ratio: the median of each
# round's ratio). Exits 0 when the median ratio is at most MAX_RATIO (2)
# and nothing failed, 1 otherwise, 2 on a setup error.
#
# Env: ORGQL_BIN, DATABASE_URL (unset: SQLite), ROUNDS (3), ORGS (20),
#      MEMBERS (100), LOGIN_USERS (8: seeded accounts the flood signs in as),
#      LOGIN_CONNECTIONS (16), QUERY_RATE (20 per second), DURATION_S (15),
#      WARMUP_S (2), HASHING_CONCURRENCY (ORGQL_PASSWORD_HASHING_CONCURRENCY;
#      unset: the server's default), DB_CONNECTIONS (server pool; unset:
#      the default), MAX_RATIO (2), KEEP (1: keep the logs).
# Needs: curl, python3, Node 20+ (no packages), psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=bench-login
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

ROUNDS=${ROUNDS:-3}
ORGS=${ORGS:-20}
MEMBERS=${MEMBERS:-100}
LOGIN_USERS=${LOGIN_USERS:-8}
MAX_RATIO=${MAX_RATIO:-2}
ORGQL_BIN=${ORGQL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/orgql}

for tool in curl python3 node; do
  command -v "$tool" >/dev/null || { echo "bench-login: needs $tool" >&2; exit 2; }
done
[ "$MEMBERS" -gt "$LOGIN_USERS" ] || { echo "bench-login: MEMBERS must exceed LOGIN_USERS" >&2; exit 2; }

if [ ! -x "$ORGQL_BIN" ]; then
  echo "bench-login: building $ORGQL_BIN (cargo build --release)" >&2
  cargo build --release --quiet --bin orgql
  [ -x "$ORGQL_BIN" ] || { echo "bench-login: no binary at $ORGQL_BIN" >&2; exit 2; }
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/orgql-bench-login.XXXXXX")
PORT=$(bench_free_port)
BASE="http://127.0.0.1:$PORT"

bench_fresh_database
server=""
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

ORGQL_DATABASE_URL="$DB_URL" RUST_LOG=warn \
  "$ORGQL_BIN" seed --orgs "$ORGS" --members "$MEMBERS" >"$OUT/seed.log" 2>&1 ||
  { echo "bench-login: seeding failed:" >&2; tail -20 "$OUT/seed.log" >&2; exit 2; }
[ "$BACKEND" = postgres ] && psql -q "$DB_URL" -c "ANALYZE"

# The settings raised for the bench: the sign-in rate limits (the flood
# signs the same few accounts in from one address, thousands of times)
# and tokens that outlive the run. Password hashing stays as in production.
env ORGQL_DATABASE_URL="$DB_URL" ORGQL_LISTEN="127.0.0.1:$PORT" ORGQL_PUBLIC_URL="$BASE" \
  ORGQL_MAIL_DIR="$OUT/mail" \
  ORGQL_RATE_LIMIT_PER_IP=100000000 ORGQL_RATE_LIMIT_PER_ACCOUNT=100000000 \
  ORGQL_ACCESS_TOKEN_TTL_SECS=86400 \
  ${HASHING_CONCURRENCY:+ORGQL_PASSWORD_HASHING_CONCURRENCY=$HASHING_CONCURRENCY} \
  ${DB_CONNECTIONS:+ORGQL_DB_MAX_CONNECTIONS=$DB_CONNECTIONS} \
  RUST_LOG=${RUST_LOG:-warn} ORGQL_LOG_FORMAT=text \
  "$ORGQL_BIN" serve >"$OUT/server.log" 2>&1 &
server=$!
bench_wait_ready "$BASE" "$server" "$OUT/server.log"

# The seed's accounts and password (src/cli/seed.rs).
DEMO_EMAIL=demo@orgql.dev
PASSWORD=orgql-demo-password
USERS=$(python3 -c "import sys; print(','.join(f'user0001-{j:03}@seed.orgql.dev' for j in range(1, int(sys.argv[1]) + 1)))" "$LOGIN_USERS")
TOKEN=$(bench_log_in "$BASE" "$DEMO_EMAIL" "$PASSWORD")

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat" 2>/dev/null || echo 0; }
TICKS=$(getconf CLK_TCK)

echo "bench-login: $BACKEND, orgql $("$ORGQL_BIN" --version 2>/dev/null | awk '{print $NF}'), $(nproc) cores," \
  "hashing concurrency ${HASHING_CONCURRENCY:-default}, $ORGS orgs x $MEMBERS members," \
  "${LOGIN_CONNECTIONS:-16} log-ins at once over $LOGIN_USERS accounts, nested query ${QUERY_RATE:-20}/s," \
  "${DURATION_S:-15} s per phase"
status=0
: >"$OUT/results.txt"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  before=$(cpu_ticks) started=$(date +%s.%N)
  URL="$BASE/graphql" TOKEN="$TOKEN" USERS="$USERS" PASSWORD="$PASSWORD" SLUGS="$ORGS" \
    node "$ROOT/benches/login/flood.mjs" | tee "$OUT/flood-$round.log" || status=1
  after=$(cpu_ticks) ended=$(date +%s.%N)
  server_cpu=$(python3 -c "print(f'{($after - $before) / $TICKS:.2f}')")
  echo "bench-login: server CPU ${server_cpu} s over $(python3 -c "print(f'{$ended - $started:.2f}')") s" \
    "($(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  line=$(grep '^RESULT ' "$OUT/flood-$round.log" || true)
  [ -n "$line" ] || { status=1; continue; }
  echo "$line server_cpu_s=$server_cpu" >>"$OUT/results.txt"
done

warnings=$(grep -E -c '\b(WARN|ERROR)\b' "$OUT/server.log" || true)
echo "bench-login: server log: $warnings warning/error lines"
if [ "$warnings" != 0 ]; then
  grep -E '\b(WARN|ERROR)\b' "$OUT/server.log" | sed -E 's/^[0-9TZ:.-]+ +//' | sort | uniq -c | sort -rn | head -20
fi

[ -s "$OUT/results.txt" ] || { echo "bench-login: no RESULT" >&2; exit 1; }
python3 - "$OUT/results.txt" "$MAX_RATIO" <<'PY' || status=1
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", line)) for line in open(sys.argv[1])]
max_ratio = float(sys.argv[2])
out, failed = [], False
for key in rows[0]:
    values = [r.get(key) for r in rows]
    try:
        nums = [float(v) for v in values]
    except (TypeError, ValueError):
        out.append(f"{key}=n/a")
        failed = True
        continue
    if key.endswith("errors"):
        total = int(sum(nums))  # totals: any failure shows
        failed |= total > 0
        out.append(f"{key}={total}")
    else:
        out.append(f"{key}={statistics.median(nums):g}")
ratios = [float(r["p99_ratio"]) for r in rows if r.get("p99_ratio") not in (None, "null")]
if not ratios:
    sys.exit("bench-login: no round measured both p99s")
ratio = statistics.median(ratios)
print(f"RESULT rounds={len(rows)} " + " ".join(out))
print(f"bench-login: the flood raises the nested query's p99 {ratio:.2f}x (at most {max_ratio:g}x allowed):"
      f" {'ok' if ratio <= max_ratio else 'TOO MUCH'}")
sys.exit(1 if failed or ratio > max_ratio else 0)
PY
exit "$status"
