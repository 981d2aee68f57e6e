// The console's build. It is served under /console by the server
// (src/http/console.rs embeds dist/). `npm run dev` serves it here and
// passes /graphql (HTTP and the subscriptions' WebSocket) to a running
// server: ORGQL_URL, else http://127.0.0.1:8000.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const server = process.env.ORGQL_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    target: 'es2022',
    license: true,
    assetsInlineLimit: 0,
    // One chunk on purpose (every page is small); scripts/size.mjs holds
    // the budget that matters, gzipped.
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: {
      '/graphql': { target: server, ws: true, changeOrigin: true },
    },
  },
});
