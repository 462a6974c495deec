/**
 * What each way a subscription socket can end means to the person using the app, and how
 * the client gets live again. One table, so the banner, the sign-out and the reconnect
 * policy cannot disagree (README "Subscription sockets" lists the server's side).
 */

/** The outcome of one closed (or failed) socket. */
export type CloseKind =
  /** The login session is over (4401) or the token was refused (4403): sign in again. */
  | 'signedOut'
  /** Idle timeout (1008): live updates wait for the user's next click, key or focus. */
  | 'paused'
  /** Past the per-user connection limit (1008): reconnecting would only be refused again. */
  | 'tooMany'
  /** Network loss or a server going away: graphql-ws retries with back-off. */
  | 'retry'
  /** Closed as a slow consumer (1008): reconnect after a back-off, from the last cursor. */
  | 'reconnectSoon'
  /** A protocol error: a client bug, so only the user's "Reconnect" tries again. */
  | 'failed'
  /** Normal closure (1000): the client closed its own idle socket; nothing to show. */
  | 'normal'

/** How the client becomes live again after a close. */
export type Reconnect = 'never' | 'onActivity' | 'backoff' | 'manual'

/** What to show and what to do after a close. */
export interface CloseDecision {
  kind: CloseKind
  /** The sentence shown to the user; empty when nothing needs saying. */
  message: string
  reconnect: Reconnect
}

/** A CloseEvent, or anything shaped like one (graphql-ws passes plain objects too). */
export interface CloseLike {
  code: number
  reason: string
}

export function isCloseLike(value: unknown): value is CloseLike {
  return typeof value === 'object' && value !== null && 'code' in value && 'reason' in value
}

/** The graphql-ws close codes a correct client never causes (README "Subscription sockets"). */
const PROTOCOL_ERRORS = new Set([4400, 4406, 4409, 4429, 1009, 1002, 1003, 1007, 1010, 1011])

/**
 * Classifies whatever ended a socket: a CloseEvent, or the error event a browser raises on a
 * network failure (which carries no code).
 */
export function classifyClose(event: unknown): CloseDecision {
  if (!isCloseLike(event)) {
    return { kind: 'retry', message: 'Connection lost. Reconnecting…', reconnect: 'backoff' }
  }
  const { code, reason } = event
  switch (code) {
    case 1000:
      return { kind: 'normal', message: '', reconnect: 'never' }
    case 4401:
      return { kind: 'signedOut', message: `You were signed out: ${reason || 'Session ended'}`, reconnect: 'never' }
    case 4403:
      return {
        kind: 'signedOut',
        message: 'You were signed out: Your sign-in is no longer valid',
        reconnect: 'never',
      }
    case 1008:
      if (reason === 'Session idle timeout') {
        return {
          kind: 'paused',
          message: 'Live updates are paused while you are away. They resume when you continue.',
          reconnect: 'onActivity',
        }
      }
      if (reason === 'Too many connections') {
        return {
          kind: 'tooMany',
          message: 'Too many connections: you have the app open in too many tabs or devices. Close one, then reconnect.',
          reconnect: 'manual',
        }
      }
      return { kind: 'reconnectSoon', message: 'Live updates fell behind. Reconnecting…', reconnect: 'backoff' }
    case 1001:
      return { kind: 'retry', message: 'The server is restarting. Reconnecting…', reconnect: 'backoff' }
  }
  if (PROTOCOL_ERRORS.has(code)) {
    return {
      kind: 'failed',
      message: `Live updates stopped (${code}${reason ? `: ${reason}` : ''}). Reload the page to continue.`,
      reconnect: 'manual',
    }
  }
  // 1005, 1006, 1012, 1013, 1014, 4408 (init timeout), 4499 (terminated) and anything
  // unknown: a network or server hiccup that a later attempt can get past.
  return { kind: 'retry', message: 'Connection lost. Reconnecting…', reconnect: 'backoff' }
}

/** graphql-ws's `shouldRetry`: only what the table says to retry with back-off. */
export function shouldRetry(event: unknown): boolean {
  const decision = classifyClose(event)
  return decision.kind === 'retry'
}
