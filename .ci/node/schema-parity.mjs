// schema.graphql is what the server introspects: both are rebuilt by
// graphql-js and printed the same way, then compared line by line. The
// introspection query is graphql-js's own, with every option on but the
// schema description (async-graphql answers it with __Schema's own
// description, which no SDL prints), so this also proves it runs under the
// server's default limits.
//
//   node schema-parity.mjs http://127.0.0.1:PORT/graphql ../../schema.graphql
import { readFile } from 'node:fs/promises';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  lexicographicSortSchema,
  printSchema,
} from 'graphql';

const [url, file] = process.argv.slice(2);
if (!url || !file) {
  console.error('usage: node schema-parity.mjs URL schema.graphql');
  process.exit(2);
}
const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  inputValueDeprecation: true,
});
const response = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
  body: JSON.stringify({ query }),
});
const body = await response.json();
if (response.status !== 200 || body.errors) {
  console.error(`introspection failed: HTTP ${response.status} ${JSON.stringify(body.errors)}`);
  process.exit(1);
}
const print = (schema) => printSchema(lexicographicSortSchema(schema));
const served = print(buildClientSchema(body.data));
const printed = print(buildSchema(await readFile(file, 'utf8')));
if (served !== printed) {
  const a = served.split('\n');
  const b = printed.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  console.error(`schema.graphql differs from introspection at line ${at + 1}:`);
  console.error(`  introspected: ${a[at]}\n  schema.graphql: ${b[at]}`);
  process.exit(1);
}
console.log(`schema parity: schema.graphql equals the introspected schema`);
