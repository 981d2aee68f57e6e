// The one GraphQL client: urql, over HTTP POST to the page's own /graphql,
// and subscriptions over graphql-transport-ws (graphql-ws) at the same
// path. The access token goes in the Authorization header (and in
// connection_init for subscriptions); an expired one is traded for a new
// one with refreshSession before the request, and on UNAUTHENTICATED once.
import { authExchange } from '@urql/exchange-auth';
import { createClient as createWsClient } from 'graphql-ws';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { graphql } from './gql';
import { currentSession, keepTokens, setSession } from './session';

const RefreshSession = graphql(`
  mutation RefreshSession($input: RefreshSessionInput!) {
    refreshSession(input: $input) {
      accessToken
      accessTokenExpiresAt
      refreshToken
    }
  }
`);

/** Refreshes this long before the access token expires. */
const EXPIRY_MARGIN_MS = 30_000;

function endpoint(): string {
  return new URL('/graphql', window.location.origin).href;
}

function socketUrl(): string {
  const url = new URL('/graphql', window.location.origin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

export function createClient(): Client {
  const sockets = createWsClient({
    url: socketUrl(),
    lazy: true,
    connectionParams: () => {
      const session = currentSession();
      return session ? { Authorization: `Bearer ${session.accessToken}` } : {};
    },
    // 4403: the server refused the token; it would refuse it again.
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === 4403),
    retryAttempts: 10,
  });

  return new Client({
    url: endpoint(),
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    exchanges: [
      cacheExchange,
      authExchange((utils) =>
        Promise.resolve({
          addAuthToOperation(operation) {
            const session = currentSession();
            if (!session) return operation;
            return utils.appendHeaders(operation, { Authorization: `Bearer ${session.accessToken}` });
          },
          willAuthError() {
            const session = currentSession();
            return session !== null && Date.parse(session.accessTokenExpiresAt) - Date.now() < EXPIRY_MARGIN_MS;
          },
          // Only a signed-in request's refusal means the token went stale: a
          // wrong password or code is UNAUTHENTICATED too, and is not retried.
          didAuthError(error) {
            return (
              currentSession() !== null &&
              error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')
            );
          },
          // A refused refresh (the session ended, or was revoked) signs out;
          // a network failure keeps the session for the next try.
          async refreshAuth() {
            const session = currentSession();
            if (!session) return;
            const result = await utils.mutate(RefreshSession, { input: { refreshToken: session.refreshToken } });
            if (result.data) {
              if (!keepTokens(result.data.refreshSession)) setSession(null);
            } else if (result.error?.graphQLErrors.length) {
              setSession(null);
            }
          },
        }),
      ),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const dispose = sockets.subscribe(input, sink);
              return { unsubscribe: dispose };
            },
          };
        },
      }),
    ],
  });
}
