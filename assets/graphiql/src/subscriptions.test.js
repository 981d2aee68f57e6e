// node --test assets/graphiql/src/subscriptions.test.js
import assert from 'node:assert/strict';
import test from 'node:test';

import { byAuthorization, connectionParams, shouldRetry, subscriptionUrl } from './subscriptions.js';

test('the WebSocket URL is the page’s own endpoint, ws:// or wss:// as the page', () => {
  assert.equal(
    subscriptionUrl(new URL('http://localhost:8080/graphql')),
    'ws://localhost:8080/graphql',
  );
  assert.equal(
    subscriptionUrl(new URL('https://api.example.com/graphql?x=1#y')),
    'wss://api.example.com/graphql',
  );
  assert.equal(
    subscriptionUrl(new URL('https://api.example.com:8443/graphql')),
    'wss://api.example.com:8443/graphql',
  );
});

test('connection_init carries the Authorization header, whatever its case, and nothing else', () => {
  assert.deepEqual(
    connectionParams({ Authorization: 'Bearer a', 'X-Other': '1' }),
    { Authorization: 'Bearer a' },
  );
  assert.deepEqual(connectionParams({ authorization: 'Bearer b' }), { Authorization: 'Bearer b' });
  assert.deepEqual(connectionParams({ Authorization: '' }), {});
  assert.deepEqual(connectionParams(undefined), {});
});

test('a refused token is not retried; other closes are', () => {
  assert.equal(shouldRetry({ code: 4403, reason: 'Forbidden' }), false);
  assert.equal(shouldRetry({ code: 1006, reason: '' }), true);
  assert.equal(shouldRetry(new Error('boom')), false);
});

test('a new fetcher, and so a new connection, when the Authorization header changes', async () => {
  const made = [];
  const fetcher = byAuthorization((payload) => {
    made.push(payload);
    return async () => ({ data: {} });
  });
  await fetcher({ query: '{ __typename }' }, {});
  await fetcher({ query: '{ __typename }' }, { headers: {} });
  await fetcher({ query: 'subscription { a }' }, { headers: { Authorization: 'Bearer t1' } });
  await fetcher({ query: 'subscription { a }' }, { headers: { authorization: 'Bearer t1' } });
  await fetcher({ query: 'subscription { a }' }, { headers: { Authorization: 'Bearer t2' } });
  await fetcher({ query: '{ __typename }' }, {});
  assert.deepEqual(made, [
    {},
    { Authorization: 'Bearer t1' },
    { Authorization: 'Bearer t2' },
    {},
  ]);
});
