/**
 * React glue for the session: the auth store, and per token one urql client and one live
 * connection. They are made outside React, as the token changes, so a new account never
 * sees the previous one's cache and a signed-out token's connection is gone for good.
 */
import { createContext, useContext, useSyncExternalStore } from 'react'
import type { Client } from 'urql'
import { makeClient } from '../graphql/client'
import { createAuthStore, type AuthState } from './auth'
import { createConnection, wsUrl, type Connection, type ConnectionState } from './connection'

/** The tab's auth store (localStorage is shared by the browser's tabs). */
export const authStore = createAuthStore(window.localStorage, window)

/** What one token gets: its client and, when signed in, its live connection. */
export interface Session {
  token: string | null
  client: Client
  connection: Connection | null
}

function openSession(token: string | null): Session {
  const connection = token
    ? createConnection({
        url: wsUrl(window.location),
        token,
        onSignedOut: (message) => authStore.signOut(message),
      })
    : null
  const client = makeClient({
    token,
    connection,
    onUnauthenticated: () => authStore.signOut('You were signed out: Your session has ended'),
  })
  return { token, client, connection }
}

let session = openSession(authStore.getState().token)
const sessionListeners = new Set<() => void>()

authStore.onChange(() => {
  const { token } = authStore.getState()
  if (token === session.token) return
  session.connection?.dispose()
  session = openSession(token)
  for (const listener of [...sessionListeners]) listener()
})

export function onSessionChange(listener: () => void) {
  sessionListeners.add(listener)
  return () => sessionListeners.delete(listener)
}

export const ConnectionContext = createContext<Connection | null>(null)

const SIGNED_OUT: ConnectionState = { status: 'signedOut', message: '', epoch: 0, live: false }

export function useAuth(): AuthState {
  return useSyncExternalStore(authStore.onChange, authStore.getState)
}

export function useConnection(): Connection | null {
  return useContext(ConnectionContext)
}

const noChanges = () => () => {}
const signedOut = () => SIGNED_OUT

export function useConnectionState(): ConnectionState {
  const connection = useConnection()
  return useSyncExternalStore(connection?.onChange ?? noChanges, connection?.getState ?? signedOut)
}

/** The current session, for SessionProvider. */
export function currentSession(): Session {
  return session
}
