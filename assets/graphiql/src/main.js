// The playground orgql serves at GET /graphql: GraphiQL with its Monaco
// workers, bundled so that the page loads nothing from another host.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';

// The endpoint is the page's own URL (GET /graphql serves this page).
const fetcher = createGraphiQLFetcher({
  url: new URL(window.location.pathname, window.location.origin).href,
});

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
  }),
);
