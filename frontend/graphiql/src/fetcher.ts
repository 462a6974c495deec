// How GraphiQL reaches the server: HTTP POST to /graphql for queries and mutations, a
// graphql-ws socket on the same path for subscriptions.
import { createGraphiQLFetcher, type Fetcher } from '@graphiql/toolkit';

/** The GraphQL endpoint's HTTP and WebSocket URLs, on the origin that served the page. */
export function endpoints(location: Pick<Location, 'href' | 'protocol'>): { url: string; subscriptionUrl: string } {
  const url = new URL('/graphql', location.href);
  const socket = new URL(url);
  socket.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { url: url.href, subscriptionUrl: socket.href };
}

/**
 * The fetcher for this page. For each subscription the toolkit opens a graphql-ws client whose
 * connection_init payload is the Headers pane's object, so `{"Authorization": "Bearer …"}`
 * signs the socket in exactly as it signs HTTP requests (the server reads `Authorization` as
 * well as `authorization` there). The socket closes when the subscription ends.
 */
export function createFetcher(location: Pick<Location, 'href' | 'protocol'>): Fetcher {
  return createGraphiQLFetcher(endpoints(location));
}
