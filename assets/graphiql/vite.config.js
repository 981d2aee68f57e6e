import { defineConfig } from 'vite';

// Assets are served by orgql under /graphql/playground/ (see
// src/http/playground.rs); their names carry a content hash.
export default defineConfig({
  base: '/graphql/playground/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // dist/.vite/license.md: the licence of every bundled package.
    license: true,
    chunkSizeWarningLimit: 8192,
  },
  worker: { format: 'es' },
});
