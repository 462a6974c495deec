/**
 * Reconnect delays: exponential, capped, with jitter so that a thousand clients dropped by
 * one restarting server do not all come back in the same millisecond.
 */

/** The first delay's upper bound. */
export const BACKOFF_BASE_MS = 1_000
/** No delay is ever longer than this. */
export const BACKOFF_CAP_MS = 30_000
/** Attempts after one lost connection before the client stops and waits for the user. */
export const RETRY_ATTEMPTS = 8

/**
 * The delay before retry number `attempt` (0 for the first): a random value between half and
 * all of `min(cap, base × 2^attempt)` ("equal jitter"), so it grows, stays bounded, and never
 * drops to zero.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30)
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** exponent)
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.round(ceiling / 2 + (r * ceiling) / 2)
}

/** graphql-ws's `retryWait`: waits `backoffDelay(retries)`. */
export function retryWait(retries: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffDelay(retries)))
}
