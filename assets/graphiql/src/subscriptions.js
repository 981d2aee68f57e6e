// Subscriptions in the playground: graphql-transport-ws (the graphql-ws
// library's protocol) at the page's own /graphql, with the request's
// Authorization header (the Headers pane's, or the token ./token.js
// carries) as connection_init's payload.

/** The WebSocket URL of the page's endpoint: ws:// beside http://, wss:// beside https://. */
export function subscriptionUrl(location) {
  const url = new URL(location.pathname, location.origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/** connection_init's payload: `{ Authorization }` from `headers`, whatever its case. */
export function connectionParams(headers) {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && value) return { Authorization: String(value) };
  }
  return {};
}

/**
 * Whether graphql-ws reconnects after a close: not after 4403 Forbidden
 * (the server refused the token; it would refuse it again).
 */
export function shouldRetry(event) {
  return typeof event?.code === 'number' && event.code !== 4403;
}

/**
 * A GraphiQL fetcher that hands each request to `make(payload)`'s fetcher,
 * `payload` being the request's connection_init payload. A new one is made
 * when the Authorization header changes (sign-in, log-out, the Headers
 * pane), so a new subscription connects with the current token; one already
 * running keeps its connection until it ends.
 */
export function byAuthorization(make) {
  let current;
  return (params, options = {}) => {
    const payload = connectionParams(options.headers);
    const key = payload.Authorization ?? '';
    if (current?.key !== key) current = { key, fetcher: make(payload) };
    return current.fetcher(params, options);
  };
}
