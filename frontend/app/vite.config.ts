/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/** Where `vite` (dev) and `vite preview` send /graphql, HTTP and WebSocket alike. */
const api = process.env.TOWNSQUARE_API ?? 'http://127.0.0.1:8000'

/** The policy the Rust server sends with the embedded app; preview mimics it. */
const contentSecurityPolicy =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

const proxy = { '/graphql': { target: api, ws: true, changeOrigin: false } }

export default defineConfig({
  base: '/',
  plugins: [react()],
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': contentSecurityPolicy } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Every browser the app targets supports modulepreload; the polyfill is dead weight.
    modulePreload: { polyfill: false },
    // No data: URLs for assets: everything stays a same-origin file the server can serve.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  test: {
    // Node by default (fast); files that need a DOM say `@vitest-environment jsdom`.
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
})
