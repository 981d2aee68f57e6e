// Event fan-out benchmark: how many event deliveries per second one orgql
// instance makes to SUBSCRIBERS live `organizationEvents` subscriptions, and
// how long a delivery takes. Run by scripts/bench-events.sh, which starts the
// server and makes the user and organization; by hand:
//
//   URL=http://127.0.0.1:8000/graphql TOKEN=<access token> ORG=org_… \
//     node benches/events/fanout.mjs
//
// Environment:
//   URL          the server's GraphQL endpoint, http(s)://…/graphql; the
//                subscriptions use the same path over ws(s)://
//   TOKEN        an access token of a member who may update the organization
//   ORG          the organization (`org_` id)
//   SUBSCRIBERS  sockets, one subscription each (1000)
//   EVENTS       measured `updateOrganization` mutations, one event each (200)
//   RATE         mutations per second, one at a time on a fixed schedule;
//                0: back to back, each sent when the previous one answered (20)
//   CONNECT_CONCURRENCY  sockets being opened at once (50)
//   SETTLE_MS    pause between "all subscribed" and the first mutation (1000)
//   READY_TIMEOUT_MS     most time to get every subscription live (120000)
//   DRAIN_TIMEOUT_MS     after the last mutation, most time to wait for the
//                        deliveries still due; the wait also ends once none
//                        has come for IDLE_MS (15000) (120000)
//
// How it runs:
//   1. Opens SUBSCRIBERS graphql-ws clients (the `graphql-ws` library over
//      `ws`, `lazy: false`, no retries: a lost socket is reported, not
//      hidden by a reconnect), each subscribing to organizationEvents.
//   2. graphql-transport-ws does not acknowledge a subscription, and a
//      stream starts "from now on" when the server has set it up, so
//      readiness is proven end to end: a probe mutation is made every second
//      until every subscriber has received a probe event, and the run waits
//      until every one has received the last probe too (no backlog left).
//      Then SETTLE_MS.
//   3. Makes EVENTS `updateOrganization` mutations over HTTP (fetch, one
//      kept-alive connection), each setting a unique description, and
//      records when each was sent and when its response came back.
//   4. Each delivery is matched to its mutation by the description in the
//      event's `data.after` and checked per subscriber by event id: every
//      subscriber must get every event exactly once (lost / dup).
//
// Delivery delay (per delivery, milliseconds):
//   - delay (the p50/p99/max of the RESULT line): receive time minus the
//     time the mutation's HTTP response came back. The response leaves the
//     server after the commit, so this is the delay after the latest moment
//     the commit can have happened as seen by the client: a lower bound of
//     the delay from the commit (a delivery that beats the response counts
//     as 0; how many did is reported).
//   - from send: receive time minus the time the mutation was sent: an upper
//     bound of the delay from the commit (includes the mutation's own time).
//   - from occurredAt: receive time minus the event's `occurredAt` (server
//     clock, the same machine on loopback; taken inside the transaction,
//     before the commit).
//   Receive time is when the `next` callback runs in this process, so a
//   busy client (its CPU is reported) adds to the figures.
//
// Fan-out rate: measured deliveries / (last measured delivery − first
// measured mutation sent).
//
// Last line: RESULT subscribers=… events=… deliveries=… lost=… dup=…
// fanout_per_s=… p50_ms=… p99_ms=… max_ms=… (and more keys after those).
// Exit status 0 when nothing was lost or duplicated and every subscriber
// connected, 1 otherwise, 2 on a usage or setup error.

import { createClient } from "graphql-ws";
import WebSocket from "ws";

const env = (name, fallback) => {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
};
const intEnv = (name, fallback) => {
  const value = Number(env(name, String(fallback)));
  if (!Number.isFinite(value) || value < 0) die(`${name} must be a number >= 0`);
  return value;
};
function die(message) {
  console.error(`fanout: ${message}`);
  process.exit(2);
}

const HTTP_URL = env("URL") ?? die("URL is required (http://HOST:PORT/graphql)");
const TOKEN = env("TOKEN") ?? die("TOKEN is required");
const ORG = env("ORG") ?? die("ORG is required (org_ id)");
const SUBSCRIBERS = intEnv("SUBSCRIBERS", 1000);
const EVENTS = intEnv("EVENTS", 200);
const RATE = intEnv("RATE", 20);
const CONNECT_CONCURRENCY = Math.max(1, intEnv("CONNECT_CONCURRENCY", 50));
const SETTLE_MS = intEnv("SETTLE_MS", 1000);
const READY_TIMEOUT_MS = intEnv("READY_TIMEOUT_MS", 120000);
const DRAIN_TIMEOUT_MS = intEnv("DRAIN_TIMEOUT_MS", 120000);
const IDLE_MS = intEnv("IDLE_MS", 15000);
const WS_URL = HTTP_URL.replace(/^http/, "ws");

const now = () => performance.timeOrigin + performance.now(); // epoch ms, sub-ms
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => console.log(`fanout: ${message}`);

const SUBSCRIPTION = `subscription($o: ID!) {
  organizationEvents(organizationId: $o) { id type occurredAt data }
}`;
const UPDATE = `mutation($o: ID!, $d: String!) {
  updateOrganization(input: { organizationId: $o, description: $d }) { organization { id } }
}`;

// Run id: keeps this run's descriptions apart from any earlier run's.
const RUN = `${process.pid.toString(36)}${Date.now().toString(36)}`;
const PROBE_PREFIX = `fanout-probe-${RUN}-`;
const BENCH_PREFIX = `fanout-${RUN}-`;

// --- Mutations ---------------------------------------------------------------

async function mutate(description) {
  const sentAt = now();
  const response = await fetch(HTTP_URL, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: UPDATE, variables: { o: ORG, d: description } }),
  });
  const body = await response.json().catch(() => null);
  const answeredAt = now();
  const ok = response.ok && body?.data?.updateOrganization?.organization && !body.errors;
  return { ok, sentAt, answeredAt, error: ok ? null : JSON.stringify(body ?? response.status) };
}

// --- Subscribers ------------------------------------------------------------

// Per mutation i: when it was sent and answered (epoch ms), and its event id.
const sentAt = new Float64Array(EVENTS).fill(NaN);
const answeredAt = new Float64Array(EVENTS).fill(NaN);
const eventIdOf = new Array(EVENTS).fill(null);
const indexOf = new Map(); // description -> i

// Per delivery (subscriber s, event i): receive time, 0 when not received.
const receivedAt = new Float64Array(SUBSCRIBERS * EVENTS);
const occurredAt = new Float64Array(EVENTS).fill(NaN);

const subscribers = [];
let connected = 0;
let measured = 0; // measured deliveries (first of each)
let duplicates = 0;
let probesSeenBy = 0;
let foreign = 0; // deliveries of other events (probes, other changes)
let unmatched = 0; // ORGANIZATION_UPDATED with a description of this run that maps nowhere
let lastDeliveryAt = 0;
let mismatchedIds = 0; // one mutation, two different event ids
const errors = new Map(); // message -> count
const closes = new Map(); // "code reason" -> count
const countInto = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

function descriptionOf(event) {
  const data = event?.data;
  const after = data?.after ?? data?.changes?.after;
  return typeof after?.description === "string" ? after.description : null;
}

function onEvent(subscriber, event) {
  const at = now();
  const description = descriptionOf(event);
  if (description === null) {
    foreign++;
    return;
  }
  if (description.startsWith(PROBE_PREFIX)) {
    if (!subscriber.probed) {
      subscriber.probed = true;
      probesSeenBy++;
    }
    const n = Number(description.slice(PROBE_PREFIX.length));
    if (n > subscriber.lastProbe) subscriber.lastProbe = n;
    return;
  }
  if (!description.startsWith(BENCH_PREFIX)) {
    foreign++;
    return;
  }
  const i = indexOf.get(description);
  if (i === undefined) {
    // The event can arrive before the mutation's response: the index is
    // known from the description itself.
    const n = Number(description.slice(BENCH_PREFIX.length));
    if (!Number.isInteger(n) || n < 0 || n >= EVENTS) {
      unmatched++;
      return;
    }
    indexOf.set(description, n);
    return record(subscriber, n, event, at);
  }
  record(subscriber, i, event, at);
}

function record(subscriber, i, event, at) {
  if (eventIdOf[i] === null) {
    eventIdOf[i] = event.id;
    occurredAt[i] = Date.parse(event.occurredAt);
  } else if (eventIdOf[i] !== event.id) {
    mismatchedIds++;
  }
  if (subscriber.seen.has(event.id)) {
    duplicates++;
    return;
  }
  subscriber.seen.add(event.id);
  receivedAt[subscriber.index * EVENTS + i] = at;
  measured++;
  if (at > lastDeliveryAt) lastDeliveryAt = at;
}

function openSubscriber(index) {
  return new Promise((resolve) => {
    const subscriber = { index, seen: new Set(), probed: false, lastProbe: -1, live: false, client: null };
    let settled = false;
    const settle = (ok) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    subscriber.client = createClient({
      url: WS_URL,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { Authorization: `Bearer ${TOKEN}` },
      on: {
        connected: () => {
          subscriber.live = true;
          connected++;
          settle(true);
        },
        closed: (event) => {
          if (subscriber.live) connected--;
          subscriber.live = false;
          if (!subscriber.disposing) countInto(closes, `${event?.code ?? "?"} ${event?.reason ?? ""}`.trim());
          settle(false);
        },
        error: (error) => {
          countInto(errors, `socket: ${error?.message ?? error?.code ?? String(error)}`);
          settle(false);
        },
      },
    });
    subscriber.client.subscribe(
      { query: SUBSCRIPTION, variables: { o: ORG } },
      {
        next: (result) => {
          if (result.errors) {
            for (const e of result.errors) countInto(errors, `stream: ${e.extensions?.code ?? ""} ${e.message}`);
            return;
          }
          onEvent(subscriber, result.data?.organizationEvents);
        },
        error: (error) => {
          const text = Array.isArray(error)
            ? error.map((e) => `${e.extensions?.code ?? ""} ${e.message}`).join("; ")
            : error?.code !== undefined
              ? `closed ${error.code} ${error.reason ?? ""}`
              : String(error?.message ?? error);
          if (!subscriber.disposing) countInto(errors, `subscription: ${text}`);
        },
        complete: () => {
          if (!subscriber.disposing) countInto(errors, "subscription completed by the server");
        },
      },
    );
    subscribers.push(subscriber);
  });
}

// --- Figures ------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "nan");

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

// --- Run --------------------------------------------------------------------

const cpuStart = process.cpuUsage();
const t0 = now();
log(`${SUBSCRIBERS} subscribers on ${WS_URL}, ${EVENTS} events at ${RATE === 0 ? "full speed" : `${RATE}/s`}`);

// 1. Connect, CONNECT_CONCURRENCY at a time.
{
  let next = 0;
  const worker = async () => {
    while (next < SUBSCRIBERS) await openSubscriber(next++);
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, SUBSCRIBERS) }, worker));
}
const connectedAt = now();
log(`connected ${connected}/${SUBSCRIBERS} in ${fmt((connectedAt - t0) / 1000, 2)} s`);

// 2. Probe until every subscription is live.
let probes = 0;
const readyBy = now() + READY_TIMEOUT_MS;
while (probesSeenBy < connected && now() < readyBy) {
  const probe = await mutate(`${PROBE_PREFIX}${probes++}`);
  if (!probe.ok) die(`probe mutation failed: ${probe.error}`);
  const until = now() + 1000;
  while (probesSeenBy < connected && now() < until) await sleep(20);
}
const ready = probesSeenBy;
log(
  `${ready}/${SUBSCRIBERS} subscriptions live after ${probes} probe(s), ${fmt((now() - connectedAt) / 1000, 2)} s`,
);
// Quiet before measuring: the last probe delivered to every live subscriber
// (events come in order, so every earlier one was too), then SETTLE_MS.
{
  const lastProbe = probes - 1;
  const allCaughtUp = () => subscribers.every((s) => !s.probed || s.lastProbe >= lastProbe);
  while (!allCaughtUp() && now() < readyBy) await sleep(20);
}
await sleep(SETTLE_MS);

// 3. The measured mutations.
const failed = [];
const runStart = now();
for (let i = 0; i < EVENTS; i++) {
  if (RATE > 0) {
    const due = runStart + (i * 1000) / RATE;
    const wait = due - now();
    if (wait > 0) await sleep(wait);
  }
  const description = `${BENCH_PREFIX}${i}`;
  indexOf.set(description, i);
  const result = await mutate(description);
  sentAt[i] = result.sentAt;
  answeredAt[i] = result.answeredAt;
  if (!result.ok) failed.push(`#${i}: ${result.error}`);
}
const mutationsDone = now();
const emitted = EVENTS - failed.length;
log(
  `${emitted}/${EVENTS} mutations in ${fmt((mutationsDone - runStart) / 1000, 2)} s ` +
    `(${fmt(EVENTS / ((mutationsDone - runStart) / 1000), 1)}/s)`,
);
for (const f of failed.slice(0, 5)) log(`mutation failed ${f}`);

// 4. Drain: until every due delivery came, or none came for IDLE_MS.
const expected = ready * emitted;
{
  const deadline = now() + DRAIN_TIMEOUT_MS;
  let lastCount = -1;
  let lastChange = now();
  while (measured < expected && now() < deadline) {
    if (measured !== lastCount) {
      lastCount = measured;
      lastChange = now();
    } else if (now() - lastChange > IDLE_MS) break;
    await sleep(20);
  }
}
const drained = now();
// A short grace for duplicates that would follow the last expected delivery.
await sleep(Math.min(1000, SETTLE_MS));

// Figures, over the subscribers that were live (probed) and the mutations
// that succeeded.
const delay = [];
const fromSend = [];
const fromOccurred = [];
let beatResponse = 0;
let lost = 0;
const lostBySubscriber = [];
const okEvents = [];
for (let i = 0; i < EVENTS; i++) if (Number.isFinite(answeredAt[i]) && !failed.some((f) => f.startsWith(`#${i}:`))) okEvents.push(i);
for (const subscriber of subscribers) {
  if (!subscriber.probed) continue;
  let missing = 0;
  for (const i of okEvents) {
    const at = receivedAt[subscriber.index * EVENTS + i];
    if (at === 0) {
      missing++;
      continue;
    }
    const d = at - answeredAt[i];
    if (d < 0) beatResponse++;
    delay.push(Math.max(0, d));
    fromSend.push(at - sentAt[i]);
    if (Number.isFinite(occurredAt[i])) fromOccurred.push(at - occurredAt[i]);
  }
  lost += missing;
  if (missing) lostBySubscriber.push([subscriber.index, missing]);
}
const deliveries = delay.length;
const span = (lastDeliveryAt > 0 ? lastDeliveryAt : drained) - runStart;
const fanoutPerS = deliveries / (span / 1000);
const d = summary(delay);
const s = summary(fromSend);
const o = summary(fromOccurred);
const mutationMs = summary(Array.from(okEvents, (i) => answeredAt[i] - sentAt[i]));
const cpu = process.cpuUsage(cpuStart);
const cpuS = (cpu.user + cpu.system) / 1e6;

log(`subscribers connected ${connected}/${SUBSCRIBERS} at the end, ${ready} live for the run`);
log(`events emitted ${emitted}; deliveries expected ${expected}, received ${deliveries}, lost ${lost}, duplicated ${duplicates}`);
if (lostBySubscriber.length)
  log(`subscribers missing events: ${lostBySubscriber.length} (first: ${lostBySubscriber.slice(0, 5).map(([i, n]) => `#${i}:${n}`).join(" ")})`);
if (mismatchedIds) log(`WARNING: ${mismatchedIds} deliveries carried another event id for the same mutation`);
if (unmatched) log(`WARNING: ${unmatched} deliveries of this run matched no mutation`);
if (foreign) log(`other events delivered (not counted): ${foreign}`);
log(`wall time ${fmt((drained - t0) / 1000, 2)} s; run (first mutation -> last delivery) ${fmt(span / 1000, 2)} s`);
log(`fan-out ${fmt(fanoutPerS, 0)} deliveries/s`);
log(`mutation round trip ms: p50 ${fmt(mutationMs.p50)} p99 ${fmt(mutationMs.p99)} max ${fmt(mutationMs.max)}`);
log(`delay after response ms: p50 ${fmt(d.p50)} p90 ${fmt(d.p90)} p99 ${fmt(d.p99)} max ${fmt(d.max)} (${beatResponse} deliveries beat the response, counted 0)`);
log(`delay from send ms:      p50 ${fmt(s.p50)} p90 ${fmt(s.p90)} p99 ${fmt(s.p99)} max ${fmt(s.max)}`);
log(`delay from occurredAt ms: p50 ${fmt(o.p50)} p90 ${fmt(o.p90)} p99 ${fmt(o.p99)} max ${fmt(o.max)}`);
log(`client CPU ${fmt(cpuS, 2)} s over ${fmt((now() - t0) / 1000, 2)} s`);
for (const [message, count] of errors) log(`error x${count}: ${message}`);
for (const [reason, count] of closes) log(`closed x${count}: ${reason}`);

console.log(
  `RESULT subscribers=${ready} events=${emitted} deliveries=${deliveries} lost=${lost} dup=${duplicates} ` +
    `fanout_per_s=${fmt(fanoutPerS, 0)} p50_ms=${fmt(d.p50)} p99_ms=${fmt(d.p99)} max_ms=${fmt(d.max)} ` +
    `p50_from_send_ms=${fmt(s.p50)} p99_from_send_ms=${fmt(s.p99)} ` +
    `mutations_per_s=${fmt(emitted / ((mutationsDone - runStart) / 1000), 1)} ` +
    `connected=${connected}/${SUBSCRIBERS} errors=${[...errors.values()].reduce((a, b) => a + b, 0)} client_cpu_s=${fmt(cpuS, 2)}`,
);

for (const subscriber of subscribers) {
  subscriber.disposing = true;
  subscriber.client.dispose();
}
const healthy = ready === SUBSCRIBERS && lost === 0 && duplicates === 0 && failed.length === 0 && errors.size === 0;
setTimeout(() => process.exit(healthy ? 0 : 1), 200);
