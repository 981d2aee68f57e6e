// Log-in flood benchmark (issue #26): how many log-ins per second one orgql
// instance checks with the production argon2id parameters, and what a
// flood of them does to the latency of an unrelated nested query. Run by
// scripts/bench-login.sh, which seeds the database and starts the server;
// by hand:
//
//   URL=http://127.0.0.1:8000/graphql TOKEN=<access token> \
//     USERS=a@x.dev,b@x.dev PASSWORD=… SLUGS=20 node benches/login/flood.mjs
//
// Environment:
//   URL               the server's GraphQL endpoint
//   TOKEN             an access token of a member of organizations
//                     demo-0001 .. demo-SLUGS (the seeded owner)
//   USERS, PASSWORD   the accounts the flood signs in as (round robin), and
//                     their (right) password
//   SLUGS             organizations the nested query rotates over (20)
//   LOGIN_CONNECTIONS log-ins in flight at once, each sent when the last
//                     one answered (16)
//   QUERY_RATE        nested queries per second, on a fixed schedule (20)
//   DURATION_S        measured seconds per phase (15)
//   WARMUP_S          unmeasured seconds before each (2)
//
// One round, three phases, in this order:
//   1. query:  the nested query alone, QUERY_RATE per second;
//   2. flood:  log-ins alone, LOGIN_CONNECTIONS at once;
//   3. both:   the nested query during the flood, as in 1 and 2 at once.
// The nested query runs open loop: each is due at a fixed time and its
// latency counts from then, so a server that stalls shows it in full
// (no coordinated omission). Log-ins per second counts right answers (an
// access token) that came back in the measured window.
//
// Prints one line per phase and last
//   RESULT logins_per_s=… query_alone_p50_ms=… query_alone_p99_ms=…
//          query_flood_p50_ms=… query_flood_p99_ms=… p99_ratio=…
//          logins_per_s_during_query=… login_errors=… query_errors=…
// Needs Node 20+; no packages.

import http from "node:http";

const env = (name, fallback) => process.env[name] ?? fallback;
const URL_ = new URL(env("URL", "http://127.0.0.1:8000/graphql"));
const TOKEN = env("TOKEN", "");
const USERS = env("USERS", "").split(",").filter(Boolean);
const PASSWORD = env("PASSWORD", "");
const SLUGS = Number(env("SLUGS", 20));
const LOGIN_CONNECTIONS = Number(env("LOGIN_CONNECTIONS", 16));
const QUERY_RATE = Number(env("QUERY_RATE", 20));
const DURATION_MS = Number(env("DURATION_S", 15)) * 1000;
const WARMUP_MS = Number(env("WARMUP_S", 2)) * 1000;
if (!TOKEN || USERS.length === 0 || !PASSWORD) {
  console.error("flood.mjs: TOKEN, USERS and PASSWORD are needed");
  process.exit(2);
}

const NESTED =
  "query($slug: String!) { organization(slug: $slug) { name members(first: 100) { edges { node { role user { name email } teams { name } } } } } }";
const LOG_IN =
  "mutation($e: String!, $p: String!) { logIn(input: { email: $e, password: $p }) { accessToken } }";

// Apart, so that queries never wait for a socket the flood holds.
const queryAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const loginAgent = new http.Agent({ keepAlive: true, maxSockets: LOGIN_CONNECTIONS });

function post(agent, body, token) {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const headers = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(payload),
    };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(
      { host: URL_.hostname, port: URL_.port, path: URL_.pathname, method: "POST", agent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch {
            resolve({ errors: [{ message: `HTTP ${res.statusCode}, not JSON` }] });
          }
        });
      },
    );
    req.on("error", (e) => resolve({ errors: [{ message: String(e) }] }));
    req.end(payload);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

function summary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (x) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? null),
  };
}

/// The nested query, QUERY_RATE per second from `start` until `end`;
/// latencies of those due in [measureFrom, end).
async function queries(start, measureFrom, end) {
  const latencies = [];
  let errors = 0;
  const inFlight = new Set();
  const interval = 1000 / QUERY_RATE;
  for (let i = 0; ; i++) {
    const due = start + i * interval;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const slug = `demo-${String((i % SLUGS) + 1).padStart(4, "0")}`;
    const p = post(queryAgent, { query: NESTED, variables: { slug } }, TOKEN).then((r) => {
      if (r.errors || !r.data?.organization) errors++;
      else if (due >= measureFrom) latencies.push(performance.now() - due);
      inFlight.delete(p);
    });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return { latencies, errors };
}

/// LOGIN_CONNECTIONS log-in loops until `end`; right answers that came
/// back in [measureFrom, end).
async function flood(measureFrom, end) {
  let ok = 0;
  let errors = 0;
  let next = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const email = USERS[next++ % USERS.length];
      const r = await post(loginAgent, { query: LOG_IN, variables: { e: email, p: PASSWORD } });
      const at = performance.now();
      if (r.data?.logIn?.accessToken) {
        if (at >= measureFrom && at < end) ok++;
      } else {
        errors++;
        if (errors <= 3) console.error("log-in failed:", JSON.stringify(r));
      }
    }
  };
  await Promise.all(Array.from({ length: LOGIN_CONNECTIONS }, loop));
  return { perSecond: ok / (DURATION_MS / 1000), errors };
}

function phaseWindow() {
  const start = performance.now();
  return [start, start + WARMUP_MS, start + WARMUP_MS + DURATION_MS];
}

const fmt = (s) => `p50=${s.p50} ms p99=${s.p99} ms max=${s.max} ms (n=${s.n})`;

let [start, from, end] = phaseWindow();
const alone = await queries(start, from, end);
const aloneSummary = summary(alone.latencies);
console.log(`query alone:         ${fmt(aloneSummary)}`);

[, from, end] = phaseWindow();
const floodAlone = await flood(from, end);
console.log(`log-in flood alone:  ${floodAlone.perSecond.toFixed(1)} log-ins/s`);

[start, from, end] = phaseWindow();
const [during, floodDuring] = await Promise.all([queries(start, from, end), flood(from, end)]);
const duringSummary = summary(during.latencies);
console.log(
  `query during flood:  ${fmt(duringSummary)}; ${floodDuring.perSecond.toFixed(1)} log-ins/s`,
);

const ratio =
  aloneSummary.p99 && duringSummary.p99 ? Math.round((duringSummary.p99 / aloneSummary.p99) * 100) / 100 : null;
const result = {
  logins_per_s: Math.round(floodAlone.perSecond * 10) / 10,
  query_alone_p50_ms: aloneSummary.p50,
  query_alone_p99_ms: aloneSummary.p99,
  query_flood_p50_ms: duringSummary.p50,
  query_flood_p99_ms: duringSummary.p99,
  p99_ratio: ratio,
  logins_per_s_during_query: Math.round(floodDuring.perSecond * 10) / 10,
  login_errors: floodAlone.errors + floodDuring.errors,
  query_errors: alone.errors + during.errors,
};
console.log(
  "RESULT " +
    Object.entries(result)
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
);
queryAgent.destroy();
loginAgent.destroy();
