// The playground orgql serves at GET /graphql: GraphiQL with its Monaco
// workers, bundled so that the page loads nothing from another host. It
// opens on two tabs of example operations (sign in; the viewer and an
// organization's members) and carries the access token a log-in returns
// (./token.js), so a newcomer reaches real data without reading a manual.
// Subscriptions go over graphql-transport-ws to the same path
// (./subscriptions.js); queries and mutations over HTTP POST.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';

import signIn from './sign-in.graphql?raw';
import members from './members.graphql?raw';
import { carryingToken } from './token.js';
import { byAuthorization, shouldRetry, subscriptionUrl } from './subscriptions.js';

// The endpoint is the page's own URL (GET /graphql serves this page).
const url = new URL(window.location.pathname, window.location.origin).href;
const fetcher = carryingToken(
  byAuthorization((connectionParams) =>
    createGraphiQLFetcher({
      url,
      // Plain answers, not multipart streams (orgql sends none): ./token.js
      // reads the token in an answer, and passes streams by unread.
      enableIncrementalDelivery: false,
      // Lazy: it connects at the first subscription, closes after the last.
      wsClient: createClient({ url: subscriptionUrl(window.location), connectionParams, shouldRetry }),
    }),
  ),
  window.sessionStorage,
);

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher,
    defaultTabs: [
      { query: signIn },
      { query: members, variables: JSON.stringify({ slug: 'acme-inc' }, null, 2) },
    ],
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
  }),
);
