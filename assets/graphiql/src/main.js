// The playground orgql serves at GET /graphql: GraphiQL with its Monaco
// workers, bundled so that the page loads nothing from another host. It
// opens on two tabs of example operations (sign in; the viewer and an
// organization's members) and carries the access token a log-in returns
// (./token.js), so a newcomer reaches real data without reading a manual.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';

import signIn from './sign-in.graphql?raw';
import members from './members.graphql?raw';
import { carryingToken } from './token.js';

// The endpoint is the page's own URL (GET /graphql serves this page).
const fetcher = carryingToken(
  createGraphiQLFetcher({
    url: new URL(window.location.pathname, window.location.origin).href,
  }),
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
