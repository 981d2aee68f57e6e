// GraphQL over HTTP conformance: graphql-http's server audit suite (the
// reference implementation of the spec's audits) against a running orgql.
//
//   node http-audit.mjs http://127.0.0.1:PORT/graphql
//
// Prints every audit that is not ok; exits 1 unless all are.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node http-audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
const notOk = results.filter((r) => r.status !== 'ok');
for (const r of notOk) {
  console.log(`${r.status} ${r.id} ${r.name}: ${r.reason}`);
}
console.log(`http-audit: ${results.length - notOk.length} of ${results.length} ok`);
process.exit(notOk.length === 0 ? 0 : 1);
