// node --test assets/graphiql/src/token.test.js (CI runs it).
import assert from 'node:assert/strict';
import test from 'node:test';

import { carryingToken, findAccessToken } from './token.js';

function memoryStorage() {
  const items = new Map();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, value),
    removeItem: (key) => items.delete(key),
  };
}

/** A fetcher that records the headers it was given and answers `answers` in turn. */
function recording(answers) {
  const seen = [];
  const fetcher = async (_params, options) => {
    seen.push(options.headers);
    return answers.shift();
  };
  return { fetcher, seen };
}

test('a token in any answer is found, wherever it sits', () => {
  assert.equal(findAccessToken({ logIn: { accessToken: 'a', user: {} } }), 'a');
  assert.equal(findAccessToken({ verifyMfa: { accessToken: 'b' } }), 'b');
  assert.equal(findAccessToken({ logIn: { accessToken: null, mfaChallenge: {} } }), undefined);
  assert.equal(findAccessToken(null), undefined);
});

test('the token of a log-in is sent with later requests, and logOut forgets it', async () => {
  const { fetcher, seen } = recording([
    { data: { logIn: { accessToken: 'tok1' } } },
    { data: { viewer: { user: { name: 'Ann' } } } },
    { data: { logOut: { sessionId: 'ses_1' } } },
    { data: { roles: [] } },
  ]);
  const carrying = carryingToken(fetcher, memoryStorage());
  await carrying({ query: 'mutation LogIn { … }' }, { headers: {} });
  await carrying({ query: '{ viewer { user { name } } }' }, { headers: {} });
  await carrying({ query: 'mutation { logOut { sessionId } }' }, {});
  await carrying({ query: '{ roles { role } }' }, {});
  assert.deepEqual(seen, [
    {},
    { Authorization: 'Bearer tok1' },
    { Authorization: 'Bearer tok1' },
    {},
  ]);
});

test('an Authorization header of the person’s own wins', async () => {
  const storage = memoryStorage();
  storage.setItem('orgql.accessToken', 'kept');
  const { fetcher, seen } = recording([{ data: {} }]);
  await carryingToken(fetcher, storage)({ query: '{ __typename }' }, {
    headers: { authorization: 'Bearer mine' },
  });
  assert.deepEqual(seen, [{ authorization: 'Bearer mine' }]);
});

test('an answer without a token keeps the one held', async () => {
  const storage = memoryStorage();
  const { fetcher, seen } = recording([
    { data: { logIn: { accessToken: 'tok' } } },
    { errors: [{ message: 'UNAUTHENTICATED' }] },
    { data: {} },
  ]);
  const carrying = carryingToken(fetcher, storage);
  await carrying({ query: 'mutation LogIn { … }' }, {});
  await carrying({ query: 'mutation LogIn { … }' }, {});
  await carrying({ query: '{ __typename }' }, {});
  assert.equal(seen[2].Authorization, 'Bearer tok');
});
