#!/usr/bin/env bash
# Starts the server on a fresh SQLite database with demo data and checks it with the standard
# clients: graphql-http's audit, the graphql-ws client, urql and Apollo Client; then that its
# introspection (as graphql-js, GraphiQL and GraphQL Code Generator send it) describes the
# repository's schema.graphql, and that Apollo Client, urql and the graphql-ws client get
# automatic persisted queries right. Used by .ci/run; needs Node 20+.
# Usage: frontend/conformance/run.sh path/to/townsquare-binary
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="$1"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  if [ -n "${server:-}" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
# `exec`, so `$!` is the server itself and the cleanup's kill reaches it (a subshell that
# only forked it would die and leave the server running).
(cd "$work" && PORT="$port" DATABASE_URL="sqlite://$work/conformance.db?mode=rwc" SEED_DEMO=on RATE_LIMITS=off \
  RUST_LOG=warn exec "$binary" serve > "$work/server.log" 2>&1) &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
url="http://127.0.0.1:$port/graphql"
node "$here/audit.mjs" "$url"
node "$here/ws.mjs" "$url"
node "$here/clients.mjs" "$url"
node "$here/introspection.mjs" "$url" "$root/schema.graphql"
node "$here/codegen.mjs" "$url" "$root/schema.graphql"
node "$here/persisted.mjs" "$url"
