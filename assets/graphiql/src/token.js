// Carries the access token in the playground: a fetcher that keeps the
// `accessToken` of any answer that holds one (logIn, verifyMfa,
// refreshSession, exchangeSsoCode, …) and sends it as
// `Authorization: Bearer …` with every later request, unless the Headers
// pane sets Authorization itself. logOut forgets it. The token lives in the
// tab's sessionStorage: it is gone when the browser tab closes.

const KEY = 'orgql.accessToken';

/** The first string `accessToken` anywhere in `data`, if any. */
export function findAccessToken(data) {
  if (data === null || typeof data !== 'object') return undefined;
  if (typeof data.accessToken === 'string') return data.accessToken;
  for (const value of Object.values(data)) {
    const found = findAccessToken(value);
    if (found !== undefined) return found;
  }
  return undefined;
}

function hasAuthorization(headers) {
  return Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'authorization');
}

/**
 * Wraps a GraphiQL fetcher. `storage` is a Storage (sessionStorage in the
 * page; anything with getItem, setItem and removeItem in tests).
 */
export function carryingToken(fetcher, storage) {
  return async (params, options = {}) => {
    const token = storage.getItem(KEY);
    const headers = { ...(options.headers ?? {}) };
    if (token && !hasAuthorization(headers)) headers.Authorization = `Bearer ${token}`;
    const result = await fetcher(params, { ...options, headers });
    // Streams (subscriptions, @defer) pass through untouched.
    if (result === null || typeof result !== 'object' || Symbol.asyncIterator in result) {
      return result;
    }
    const data = result.data;
    if (data && typeof data === 'object' && 'logOut' in data && data.logOut) {
      storage.removeItem(KEY);
    } else {
      const issued = findAccessToken(data);
      if (issued !== undefined) storage.setItem(KEY, issued);
    }
    return result;
  };
}
