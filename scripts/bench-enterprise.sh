#!/usr/bin/env bash
# Enterprise size (issue #26): one organization of 100,000 members in 2,000
# teams with 1,000,000 audit entries and events, its owner in 5,000
# organizations, on PostgreSQL with generic plans forced; the p50 and p99 of
# each page at one client (benches/enterprise/pages.mjs). One command:
#
#   scripts/bench-enterprise.sh
#   RESEED=0 N=1000 scripts/bench-enterprise.sh       # reuse the database
#
# Seeds a database (ORGQL_ENTERPRISE_DB, default orgql_enterprise: dropped
# and created on the PostgreSQL of ADMIN_URL) with `orgql seed
# --enterprise`, vacuums and analyzes it as autovacuum would a live one,
# and sets `plan_cache_mode = force_generic_plan` on it, so every prepared
# statement runs on the plan a long-lived connection settles on. Starts the
# server (ORGQL_BIN, default target/release/orgql, built only when missing)
# on a free loopback port, logs in as the demo owner and runs the pages.
# Exits 1 when a pinned page's p99 is over MAX_P99_MS (20), 2 on a setup
# error. The blocks each page reads are pinned by tests instead
# (tests/api/statements.rs, on PostgreSQL): timings belong here.
#
# Env: ORGQL_BIN, ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
#      ORGQL_ENTERPRISE_DB (orgql_enterprise), RESEED (1), N (300),
#      WARMUP (30), MAX_P99_MS (20), KEEP (1: keep the logs).
# Needs: curl, python3, psql, Node 20+ (no packages).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH=bench-enterprise
# shellcheck source=scripts/bench-common.sh
source "$ROOT/scripts/bench-common.sh"

ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${ORGQL_ENTERPRISE_DB:-orgql_enterprise}
ORGQL_BIN=${ORGQL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/orgql}
for tool in curl python3 node psql; do
  command -v "$tool" >/dev/null || { echo "bench-enterprise: needs $tool" >&2; exit 2; }
done
if [[ ! $ADMIN_URL =~ ^(postgres(ql)?://[^/?]+)(/[^?]*)?(\?.*)?$ ]]; then
  echo "bench-enterprise: ADMIN_URL is not postgres://USER@HOST[:PORT][/DB]" >&2
  exit 2
fi
DB_URL="${BASH_REMATCH[1]}/$DB${BASH_REMATCH[4]}"
if [ ! -x "$ORGQL_BIN" ]; then
  echo "bench-enterprise: building $ORGQL_BIN (cargo build --release)" >&2
  cargo build --release --quiet --bin orgql
fi

OUT=$(mktemp -d "${TMPDIR:-/tmp}/orgql-bench-enterprise.XXXXXX")
PORT=$(bench_free_port)
BASE="http://127.0.0.1:$PORT"
server="" PG_DB=""
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

if [ "${RESEED:-1}" = 1 ]; then
  PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 "$ADMIN_URL" \
    -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  started=$(date +%s)
  ORGQL_DATABASE_URL="$DB_URL" RUST_LOG=warn "$ORGQL_BIN" seed --enterprise >"$OUT/seed.log" 2>&1 ||
    { echo "bench-enterprise: seeding failed:" >&2; tail -20 "$OUT/seed.log" >&2; exit 2; }
  echo "bench-enterprise: seeded in $(($(date +%s) - started)) s"
else
  ORGQL_DATABASE_URL="$DB_URL" RUST_LOG=warn "$ORGQL_BIN" migrate >/dev/null
fi
psql -q -v ON_ERROR_STOP=1 "$DB_URL" -c "VACUUM ANALYZE" \
  -c "ALTER DATABASE $DB SET plan_cache_mode = force_generic_plan"
psql -At "$DB_URL" -c "SELECT 'bench-enterprise: ' || (SELECT count(*) FROM members) || ' memberships, '
  || (SELECT count(*) FROM teams) || ' teams, ' || (SELECT count(*) FROM audit_entries) || ' audit entries, '
  || (SELECT count(*) FROM events) || ' events, ' || pg_size_pretty(pg_database_size(current_database()))"

# Tokens that outlive the run; nothing else differs from the defaults.
env ORGQL_DATABASE_URL="$DB_URL" ORGQL_LISTEN="127.0.0.1:$PORT" ORGQL_PUBLIC_URL="$BASE" \
  ORGQL_MAIL_DIR="$OUT/mail" ORGQL_ACCESS_TOKEN_TTL_SECS=86400 RUST_LOG=warn ORGQL_LOG_FORMAT=text \
  "$ORGQL_BIN" serve >"$OUT/server.log" 2>&1 &
server=$!
bench_wait_ready "$BASE" "$server" "$OUT/server.log"
# The seed's owner of every organization (src/cli/seed.rs).
TOKEN=$(bench_log_in "$BASE" demo@orgql.dev orgql-demo-password)

echo "bench-enterprise: orgql $("$ORGQL_BIN" --version | awk '{print $NF}'), $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
BASE="$BASE" TOKEN="$TOKEN" node "$ROOT/benches/enterprise/pages.mjs"
