#!/usr/bin/env bash
# Load test on PostgreSQL: seeds 1,000 organizations x 100 members, starts
# the release server, and drives the representative queries over HTTP with
# oha (cargo install oha --locked), slugs rotating. Prints requests/s and
# latency percentiles for each query.
#
#   scripts/load.sh                       # 20 s per query, 32 connections
#   DURATION=60s CONNECTIONS=64 scripts/load.sh
#
# Only loopback addresses are used. Needs psql and a PostgreSQL that the
# admin URL below may create databases on.
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL=${ORGQL_LOAD_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${ORGQL_LOAD_DB:-orgql_load}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-8090}
ORGS=${ORGS:-1000}
MEMBERS=${MEMBERS:-100}
DB_URL="${ADMIN_URL%/*}/$DB"
BASE="http://127.0.0.1:$PORT"

command -v oha >/dev/null || { echo "oha is missing: cargo install oha --locked" >&2; exit 1; }

cargo build --release --quiet
if [ "${RESEED:-1}" = 1 ]; then
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  ORGQL_DATABASE_URL="$DB_URL" target/release/orgql seed --orgs "$ORGS" --members "$MEMBERS" >/dev/null
  psql -q "$DB_URL" -c "ANALYZE"
fi

ORGQL_DATABASE_URL="$DB_URL" ORGQL_LISTEN="127.0.0.1:$PORT" ORGQL_ACCESS_TOKEN_TTL_SECS=3600 \
  ORGQL_DB_MAX_CONNECTIONS=${DB_CONNECTIONS:-16} RUST_LOG=warn target/release/orgql serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done

token=$(curl -fs "$BASE/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { logIn(input: { email: \"demo@orgql.dev\", password: \"orgql-demo-password\" }) { accessToken } }"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["logIn"]["accessToken"])')

# oha reads the URLs from a file: one GET per slug, demo-0001 .. demo-ORGS,
# all on loopback.
url_file() {
  local file
  file=$(mktemp)
  python3 - "$BASE" "$1" "$ORGS" "$file" <<'PY'
import json, sys, urllib.parse
base, query, orgs, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
q = urllib.parse.quote(query, safe="")
with open(path, "w") as out:
    for i in range(1, orgs + 1):
        v = urllib.parse.quote(json.dumps({"slug": f"demo-{i:04}"}), safe="")
        out.write(f"{base}/graphql?query={q}&variables={v}\n")
PY
  echo "$file"
}

run() {
  local name=$1 query=$2 urls
  urls=$(url_file "$query")
  echo "== $name"
  oha --no-tui -z "$DURATION" -c "$CONNECTIONS" -H "authorization: Bearer $token" \
    --urls-from-file "$urls" |
    grep -E "Success rate|Requests/sec|50.00%|99.00%|\[[0-9]{3}\]"
  rm -f "$urls"
}

run "viewer organizations" \
  '{ organizations(first: 50) { totalCount edges { node { id name slug viewerMembership { role } } } } }'
run "organization -> 100 members -> user and teams" \
  'query($slug: String!) { organization(slug: $slug) { name members(first: 100) { edges { node { role user { name email } teams { name } } } } } }'
run "organization -> teams -> members -> user" \
  'query($slug: String!) { organization(slug: $slug) { teams(first: 10) { edges { node { name membersCount members(first: 20) { edges { node { role member { user { name } } } } } } } } } }'
