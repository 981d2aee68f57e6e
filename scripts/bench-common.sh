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
