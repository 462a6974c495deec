/**
 * The one live connection of a signed-in tab: a graphql-ws client plus the policy of
 * `closeCodes.ts`. It exposes a tiny store (status, banner message, epoch) that React reads
 * with `useSyncExternalStore`; subscriptions are made again whenever `epoch` changes.
 *
 * Who reconnects:
 * - graphql-ws itself, for network loss and 1001, with `retryWait`/`shouldRetry` below; its
 *   running subscriptions survive and are resent on the new socket.
 * - this module, after a close that ends every subscription (1008 idle, too many, slow
 *   consumer, retries used up): it bumps `epoch` when the user is back (or after a back-off
 *   for a slow consumer), and the hooks subscribe again from their last cursor.
 * - nobody, after 4401/4403: the token is dropped and the client disposed.
 */
import { createClient, type Client as WsClient, type Sink, type SubscribePayload } from 'graphql-ws'
import { backoffDelay, RETRY_ATTEMPTS, retryWait } from './backoff'
import { classifyClose, shouldRetry } from './closeCodes'

/** Where the connection stands, as the banner shows it. */
export type ConnectionStatus =
  | 'idle'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'paused'
  | 'offline'
  | 'tooMany'
  | 'failed'
  | 'signedOut'

/** A snapshot of the connection for React. */
export interface ConnectionState {
  status: ConnectionStatus
  /** The banner's sentence; empty when there is nothing to say. */
  message: string
  /** Bumped whenever subscriptions have ended and must be made again. */
  epoch: number
  /** Subscriptions may run now (false while paused, refused, offline or signed out). */
  live: boolean
}

/** What `createConnection` needs. */
export interface ConnectionOptions {
  /** The socket's URL, ws(s)://host/graphql. */
  url: string
  /** The bearer token sent in connection_init. */
  token: string
  /** Called once when the server ends the login session (4401) or refuses the token (4403). */
  onSignedOut: (message: string) => void
  /** A WebSocket class (tests pass a fake). */
  webSocketImpl?: unknown
  /** Where user activity is heard (tests pass their own). */
  activityTarget?: EventTarget
}

/** The live connection of one signed-in tab. */
export interface Connection {
  getState: () => ConnectionState
  onChange: (listener: () => void) => () => void
  /** graphql-ws's subscribe on the current client. */
  subscribe: (payload: SubscribePayload, sink: Sink) => () => void
  /** Makes subscriptions live again now (the "Reconnect" button, activity after a pause). */
  resume: () => void
  /** Closes everything for good (sign-out, token change). */
  dispose: () => void
}

/** Events that count as the user being back (focus: the window, when the tab is focused). */
const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'focus'] as const

export function wsUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`
}

/** Disposes a graphql-ws client, ignoring a connection attempt that fails meanwhile. */
function quietlyDispose(client: WsClient) {
  Promise.resolve()
    .then(() => client.dispose())
    .catch(() => {})
}

export function createConnection(options: ConnectionOptions): Connection {
  const activityTarget = options.activityTarget ?? window
  const listeners = new Set<() => void>()
  let state: ConnectionState = { status: 'idle', message: '', epoch: 0, live: true }
  let disposed = false
  /** Closes since the last successful connection_ack (graphql-ws counts the same way). */
  let failures = 0
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let stopListening: (() => void) | undefined

  function set(patch: Partial<ConnectionState>) {
    state = { ...state, ...patch }
    for (const listener of [...listeners]) listener()
  }

  function makeClient(): WsClient {
    const client: WsClient = createClient({
      url: options.url,
      lazy: true,
      connectionParams: () => ({ authorization: `Bearer ${options.token}` }),
      retryAttempts: RETRY_ATTEMPTS,
      retryWait,
      shouldRetry,
      webSocketImpl: options.webSocketImpl,
      on: {
        connecting: () => {
          if (client === ws && state.status !== 'reconnecting') set({ status: 'connecting' })
        },
        connected: () => {
          if (client !== ws) return
          failures = 0
          set({ status: 'connected', message: '' })
        },
        closed: (event) => {
          if (client === ws) handleClose(event)
        },
      },
    })
    return client
  }

  let ws = makeClient()

  function waitForActivity(alsoOnline: boolean) {
    stopListening?.()
    const onActivity = () => resume()
    for (const name of ACTIVITY_EVENTS) activityTarget.addEventListener(name, onActivity)
    if (alsoOnline) activityTarget.addEventListener('online', onActivity)
    stopListening = () => {
      for (const name of ACTIVITY_EVENTS) activityTarget.removeEventListener(name, onActivity)
      activityTarget.removeEventListener('online', onActivity)
      stopListening = undefined
    }
  }

  function handleClose(event: unknown) {
    if (disposed) return
    const decision = classifyClose(event)
    switch (decision.kind) {
      case 'normal':
        if (state.live) set({ status: 'idle', message: '' })
        return
      case 'signedOut':
        set({ status: 'signedOut', message: decision.message, live: false })
        dispose()
        options.onSignedOut(decision.message)
        return
      case 'paused':
        set({ status: 'paused', message: decision.message, live: false })
        waitForActivity(false)
        return
      case 'tooMany':
      case 'failed':
        set({ status: decision.kind, message: decision.message, live: false })
        return
      case 'reconnectSoon':
        failures += 1
        if (failures > RETRY_ATTEMPTS) return goOffline()
        // graphql-ws treats every 1008 as final, so its subscriptions have ended.
        set({ status: 'reconnecting', message: decision.message, live: false })
        clearTimeout(reconnectTimer)
        reconnectTimer = setTimeout(resume, backoffDelay(failures - 1))
        return
      case 'retry':
        failures += 1
        // graphql-ws gives up after RETRY_ATTEMPTS retries, which is this many closes.
        if (failures > RETRY_ATTEMPTS) return goOffline()
        set({ status: 'reconnecting', message: decision.message })
        return
    }
  }

  function goOffline() {
    set({
      status: 'offline',
      message: 'You are offline. Live updates resume when you continue.',
      live: false,
    })
    waitForActivity(true)
  }

  function resume() {
    if (disposed || state.live) return
    stopListening?.()
    clearTimeout(reconnectTimer)
    // A fresh graphql-ws client: the old one's retry counter may be spent, and it has no
    // running subscriptions left to carry over.
    const old = ws
    ws = makeClient()
    quietlyDispose(old)
    if (state.status !== 'reconnecting') failures = 0
    set({ status: 'connecting', message: '', live: true, epoch: state.epoch + 1 })
  }

  function dispose() {
    if (disposed) return
    disposed = true
    if (state.live) set({ status: 'signedOut', live: false })
    stopListening?.()
    clearTimeout(reconnectTimer)
    quietlyDispose(ws)
  }

  return {
    getState: () => state,
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    subscribe(payload, sink) {
      // A disposed connection opens nothing, whoever asks.
      if (disposed) {
        sink.complete()
        return () => {}
      }
      return ws.subscribe(payload, sink)
    },
    resume,
    dispose,
  }
}
