// Pages of an enterprise-size organization (issue #26), one client, one
// request after another: each query WARMUP times, then N times timed; prints
// p50, p99 and the largest per query, and a RESULT line. Exits 1 when a
// query marked `pinned` has a p99 over MAX_P99_MS.
//
// Env: BASE (http://127.0.0.1:PORT), TOKEN (the demo owner's access token),
//      SLUG (the large organization), N (300), WARMUP (30), MAX_P99_MS (20).

const base = process.env.BASE;
const token = process.env.TOKEN;
const slug = process.env.SLUG ?? "demo-0001";
const n = Number(process.env.N ?? 300);
const warmup = Number(process.env.WARMUP ?? 30);
const maxP99 = Number(process.env.MAX_P99_MS ?? 20);

async function graphql(query) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const members = (args, count) =>
  `{ organization(slug: "${slug}") { members(first: 20${args}) { ${count ? "totalCount " : ""}` +
  `edges { cursor node { role user { name email } } } } } }`;
const teams = () =>
  `{ organization(slug: "${slug}") { teams(first: 20) { totalCount edges { cursor node { name slug membersCount } } } } }`;
const audit = (args, count) =>
  `{ organization(slug: "${slug}") { auditLog(first: 20${args}) { ${count ? "totalCount " : ""}` +
  `edges { cursor node { action actor { kind email } resourceType createdAt } } } } }`;
const events = (args) =>
  `{ organization(slug: "${slug}") { events(first: 20${args}) { edges { cursor node { type occurredAt } } } } }`;
const memberships = (args) =>
  `{ viewer { memberships(first: 20${args}) { id role organization { name slug } } } }`;

// Cursors deep in the lists, read once before timing.
const membersCount = (await graphql(`{ organization(slug: "${slug}") { membersCount } }`)).organization.membersCount;
const all = (await graphql(`{ viewer { memberships { id } } }`)).viewer.memberships;
const lateMembership = all[all.length - 21]?.id ?? all[0].id;
const eventsCursor = Buffer.from("evt:500000").toString("base64url");
const viewerId = (await graphql("{ viewer { user { id } } }")).viewer.user.id;
const daysAgo = (days) => new Date(Date.now() - days * 86_400_000).toISOString();

const queries = [
  ["members, totalCount", members("", true), true],
  ["members by role, totalCount", members(", filter: { role: VIEWER }", true), true],
  ["members by search (1 match), totalCount", members(', filter: { search: "0001-54321" }', true), true],
  ["members by search (11,100), totalCount", members(', filter: { search: "user 0001-5" }', true), false],
  ["teams with membersCount, totalCount", teams(), true],
  ["audit log", audit("", false), true],
  ["audit log by action", audit(", filter: { actions: [ORGANIZATION_UPDATED] }", false), true],
  ["audit log, totalCount", audit("", true), true],
  ["audit log by action, totalCount", audit(", filter: { actions: [ORGANIZATION_UPDATED] }", true), true],
  ["audit log, 10 days from mid-day, totalCount", audit(`, filter: { since: "${daysAgo(12.5)}", until: "${daysAgo(2.5)}" }`, true), true],
  ["audit log by resource type, totalCount", audit(", filter: { resourceType: \"organization\" }", true), true],
  ["audit log by actor, totalCount", audit(`, filter: { actorId: "${viewerId}" }`, true), true],
  ["events", events(""), true],
  ["events after the 500,000th", events(`, after: "${eventsCursor}"`), true],
  ["events of one type", events(", types: [ORGANIZATION_UPDATED]"), true],
  ["viewer.memberships", memberships(""), true],
  ["viewer.memberships, late page", memberships(`, after: "${lateMembership}"`), true],
];

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
console.log(`${membersCount} members, the viewer in ${all.length} organizations; ${n} requests each after ${warmup} to warm up`);
console.log(`${"query".padEnd(42)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)}`);
const results = [];
let failed = false;
for (const [name, query, pinned] of queries) {
  for (let i = 0; i < warmup; i++) await graphql(query);
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await graphql(query);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const [p50, p99, max] = [percentile(times, 50), percentile(times, 99), times[times.length - 1]];
  const over = pinned && p99 > maxP99;
  failed ||= over;
  console.log(
    `${name.padEnd(42)} ${p50.toFixed(2).padStart(8)} ${p99.toFixed(2).padStart(8)} ${max.toFixed(2).padStart(8)}` +
      (pinned ? (over ? `  over ${maxP99} ms` : "") : "  (not pinned)"),
  );
  results.push(`${name.replaceAll(/[^a-z0-9]+/gi, "_").replace(/_$/, "")}_p99=${p99.toFixed(2)}`);
}
console.log(`RESULT ${results.join(" ")}`);
process.exit(failed ? 1 : 0);
