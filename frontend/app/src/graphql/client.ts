/**
 * The urql client of one signed-in (or signed-out) tab: queries and mutations over HTTP POST
 * with the bearer token, subscriptions over the tab's graphql-ws connection.
 */
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from '@urql/core'
import type { SubscribePayload } from 'graphql-ws'
import type { Connection } from '../session/connection'

/**
 * Put a function under this key of an operation's context to have graphql-ws send fresh
 * variables each time it resubscribes on a new socket by itself (after a network loss):
 * a room then resumes from its latest cursor rather than from where it first started.
 */
export const LIVE_VARIABLES = 'liveVariables'

/** What `makeClient` needs. */
export interface ClientOptions {
  token: string | null
  connection: Connection | null
  /** Called when the server says the token is no longer valid. */
  onUnauthenticated: () => void
}

/**
 * `request` whose `variables` are read again at every send: graphql-ws serialises the same
 * payload object on each retry, so a getter is how new variables reach its retries.
 */
export function withLiveVariables(
  request: SubscribePayload,
  live: (() => Record<string, unknown>) | undefined,
): SubscribePayload {
  if (!live) return request
  return {
    ...request,
    get variables() {
      return { ...request.variables, ...live() }
    },
  }
}

export function makeClient({ token, connection, onUnauthenticated }: ClientOptions): Client {
  const exchanges = [
    mapExchange({
      onError(error) {
        // Any UNAUTHENTICATED while a token is held means the session behind it has ended.
        if (token && error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) {
          onUnauthenticated()
        }
      },
    }),
    cacheExchange,
    fetchExchange,
  ]
  if (connection) {
    exchanges.push(
      subscriptionExchange({
        forwardSubscription(request, operation) {
          const live = operation.context[LIVE_VARIABLES] as (() => Record<string, unknown>) | undefined
          const payload = withLiveVariables({ ...request, query: request.query ?? '' }, live)
          return {
            subscribe(sink) {
              return { unsubscribe: connection.subscribe(payload, sink) }
            },
          }
        },
      }),
    )
  }
  return new Client({
    url: '/graphql',
    // POST only: answers to GET may be cached by the browser, and this app wants fresh data.
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => (token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    exchanges,
  })
}
