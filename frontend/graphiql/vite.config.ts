// GraphiQL for townsquare, built into dist/ and served by the server at /graphiql.
//
// Everything the page loads comes from dist/: the server's Content-Security-Policy allows this
// origin only (and its WebSocket), so nothing may be fetched from a CDN.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Where `npm run dev` and `npm run preview` forward /graphql (HTTP and WebSocket).
const server = process.env.TOWNSQUARE_URL ?? 'http://127.0.0.1:8000';
const proxy = { '/graphql': { target: server, ws: true, changeOrigin: false } };

export default defineConfig({
  base: '/graphiql/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco is large; the page is a developer tool served from the same machine.
    chunkSizeWarningLimit: 5000,
    // No source maps: dist/ is committed and compiled into the server binary.
    sourcemap: false,
    rolldownOptions: {
      onwarn(warning, warn) {
        // GraphiQL's packages start modules with React Compiler's "use no memo"; it only
        // matters to the compiler, which does not run on them here.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  // Dev server only: its dependency pre-bundling cannot follow Vite's `?worker` imports, so
  // the two modules that create Monaco's workers are served as they are, and the CommonJS
  // packages the GraphQL worker reaches are pre-bundled by name (the scan does not see them).
  optimizeDeps: {
    exclude: ['graphiql/setup-workers/vite', '@graphiql/react/setup-workers/vite'],
    include: ['nullthrows', 'vscode-languageserver-types', 'debounce-promise', 'picomatch-browser'],
  },
  server: { proxy },
  preview: { proxy },
});
