/**
 * The connection against a scripted WebSocket: every close code, counted in sockets opened,
 * so "does not reconnect" and "no loop" are checked rather than assumed.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { withLiveVariables } from '../graphql/client'
import { BACKOFF_CAP_MS, RETRY_ATTEMPTS } from './backoff'
import { createConnection, type Connection } from './connection'

interface Message {
  type: string
  id?: string
  payload?: Record<string, unknown>
}

class FakeSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  static all: FakeSocket[] = []

  readyState = FakeSocket.CONNECTING
  sent: Message[] = []
  onopen: ((event: unknown) => void) | null = null
  onclose: ((event: unknown) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: string }) => void) | null = null
  readonly url: string
  readonly protocol: string

  constructor(url: string, protocol: string) {
    this.url = url
    this.protocol = protocol
    FakeSocket.all.push(this)
  }

  send(data: string) {
    this.sent.push(JSON.parse(data) as Message)
  }

  close(code = 1000, reason = '') {
    if (this.readyState === FakeSocket.CLOSED) return
    this.readyState = FakeSocket.CLOSED
    this.onclose?.({ code, reason, wasClean: true })
  }

  /** The server accepts the socket and acknowledges connection_init. */
  async accept() {
    this.readyState = FakeSocket.OPEN
    this.onopen?.({})
    await vi.advanceTimersByTimeAsync(0)
    this.onmessage?.({ data: JSON.stringify({ type: 'connection_ack' }) })
    await vi.advanceTimersByTimeAsync(0)
  }

  /** The server closes the socket. */
  async serverClose(code: number, reason: string) {
    this.readyState = FakeSocket.CLOSED
    this.onclose?.({ code, reason, wasClean: true })
    await vi.advanceTimersByTimeAsync(0)
  }

  /** The network drops: an error event, then 1006, as browsers do. */
  async drop() {
    this.onerror?.({ type: 'error' })
    this.readyState = FakeSocket.CLOSED
    this.onclose?.({ code: 1006, reason: '', wasClean: false })
    await vi.advanceTimersByTimeAsync(0)
  }

  subscribes(): Message[] {
    return this.sent.filter((m) => m.type === 'subscribe')
  }
}

const sockets = () => FakeSocket.all
const last = () => FakeSocket.all[FakeSocket.all.length - 1]
const HOUR = 60 * 60 * 1000

/** Subscribes the way `useLive` does: while live, again at every epoch. */
function drive(connection: Connection, payload = { query: 'subscription { notifications { id } }' }) {
  let key = ''
  let unsubscribe: (() => void) | null = null
  const sync = () => {
    const { live, epoch } = connection.getState()
    const next = `${live}:${epoch}`
    if (next === key) return
    key = next
    unsubscribe?.()
    unsubscribe = live ? connection.subscribe(payload, { next() {}, error() {}, complete() {} }) : null
  }
  connection.onChange(sync)
  sync()
}

let activity: EventTarget
let signedOut: string[]

function connect(): Connection {
  const connection = createConnection({
    url: 'ws://app.test/graphql',
    token: 't0k',
    onSignedOut: (message) => signedOut.push(message),
    webSocketImpl: FakeSocket,
    activityTarget: activity,
  })
  drive(connection)
  return connection
}

async function connected(): Promise<Connection> {
  const connection = connect()
  await last().accept()
  expect(connection.getState().status).toBe('connected')
  return connection
}

beforeEach(() => {
  vi.useFakeTimers()
  FakeSocket.all = []
  activity = new EventTarget()
  signedOut = []
})

afterEach(() => {
  vi.useRealTimers()
})

describe('connection', () => {
  it('sends the bearer token in connection_init and subscribes once acknowledged', async () => {
    await connected()
    expect(sockets()).toHaveLength(1)
    expect(last().protocol).toBe('graphql-transport-ws')
    expect(last().sent[0]).toEqual({ type: 'connection_init', payload: { authorization: 'Bearer t0k' } })
    expect(last().subscribes()).toHaveLength(1)
  })

  it.each([
    [4401, 'Session revoked', 'You were signed out: Session revoked'],
    [4401, 'Session expired', 'You were signed out: Session expired'],
    [4403, 'Forbidden', 'You were signed out: Your sign-in is no longer valid'],
  ])('%i %s: signs out once and never reconnects', async (code, reason, message) => {
    const connection = await connected()
    await last().serverClose(code, reason)
    expect(signedOut).toEqual([message])
    expect(connection.getState()).toMatchObject({ status: 'signedOut', live: false })
    for (const name of ['pointerdown', 'keydown', 'focus', 'online']) activity.dispatchEvent(new Event(name))
    connection.resume()
    connection.subscribe({ query: 'subscription { notifications { id } }' }, { next() {}, error() {}, complete() {} })
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(1)
  })

  it('4403 at connection_init (an old token) is not retried', async () => {
    const connection = connect()
    last().readyState = FakeSocket.OPEN
    last().onopen?.({})
    await vi.advanceTimersByTimeAsync(0)
    await last().serverClose(4403, 'Forbidden')
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(1)
    expect(connection.getState().status).toBe('signedOut')
    expect(signedOut).toHaveLength(1)
  })

  it('1008 idle timeout: pauses quietly, and resumes once on the next activity', async () => {
    const connection = await connected()
    await last().serverClose(1008, 'Session idle timeout')
    expect(connection.getState()).toMatchObject({ status: 'paused', live: false })
    expect(connection.getState().message).toMatch(/paused/)
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(1)

    activity.dispatchEvent(new Event('keydown'))
    expect(connection.getState()).toMatchObject({ status: 'connecting', live: true, epoch: 1 })
    expect(sockets()).toHaveLength(2)
    await last().accept()
    expect(last().subscribes()).toHaveLength(1)
    expect(connection.getState().status).toBe('connected')

    for (const name of ['pointerdown', 'keydown', 'focus']) activity.dispatchEvent(new Event(name))
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(2)
    expect(signedOut).toEqual([])
  })

  it('1008 too many connections: says so and waits for the user, never looping', async () => {
    const connection = await connected()
    await last().serverClose(1008, 'Too many connections')
    expect(connection.getState()).toMatchObject({ status: 'tooMany', live: false })
    expect(connection.getState().message).toMatch(/Too many connections/)
    for (const name of ['pointerdown', 'keydown', 'focus', 'online']) activity.dispatchEvent(new Event(name))
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(1)

    connection.resume()
    expect(sockets()).toHaveLength(2)
    await last().serverClose(1008, 'Too many connections')
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(2)
  })

  it('1001 server shutting down: graphql-ws reconnects after a back-off and resubscribes', async () => {
    const connection = await connected()
    await last().serverClose(1001, 'Server shutting down')
    expect(connection.getState()).toMatchObject({ status: 'reconnecting', live: true })
    expect(sockets()).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS)
    expect(sockets()).toHaveLength(2)
    await last().accept()
    expect(connection.getState()).toMatchObject({ status: 'connected', message: '' })
    expect(last().subscribes()).toHaveLength(1)
  })

  it('network loss: bounded retries with growing delays, then offline until the user is back', async () => {
    const connection = await connected()
    const opened: number[] = []
    await last().drop()
    for (let i = 0; i < RETRY_ATTEMPTS; i += 1) {
      const before = sockets().length
      const start = Date.now()
      while (sockets().length === before) await vi.advanceTimersByTimeAsync(100)
      opened.push(Date.now() - start)
      await last().drop()
    }
    expect(sockets()).toHaveLength(1 + RETRY_ATTEMPTS)
    expect(connection.getState()).toMatchObject({ status: 'offline', live: false })
    // Each wait is at most the cap; later ones are longer than the first.
    for (const wait of opened) expect(wait).toBeLessThanOrEqual(BACKOFF_CAP_MS + 100)
    expect(opened[opened.length - 1]).toBeGreaterThan(opened[0])

    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(1 + RETRY_ATTEMPTS)

    activity.dispatchEvent(new Event('online'))
    expect(sockets()).toHaveLength(2 + RETRY_ATTEMPTS)
    await last().accept()
    expect(connection.getState().status).toBe('connected')
  })

  it('1008 slow consumer: reconnects after a back-off, from scratch', async () => {
    const connection = await connected()
    await last().serverClose(1008, 'Slow consumer')
    expect(connection.getState()).toMatchObject({ status: 'reconnecting', live: false })
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS)
    expect(sockets()).toHaveLength(2)
    expect(connection.getState()).toMatchObject({ live: true, epoch: 1 })
  })

  it('a retry resubscribes from the latest cursor, not the first one', async () => {
    let cursor = 'c1'
    const connection = createConnection({
      url: 'ws://app.test/graphql',
      token: 't0k',
      onSignedOut: () => {},
      webSocketImpl: FakeSocket,
      activityTarget: activity,
    })
    const request = {
      query: 'subscription ($roomId: ID!, $after: String) { roomEvents(roomId: $roomId, after: $after) { __typename } }',
      variables: { roomId: 'r1', after: 'c1' },
    }
    connection.subscribe(withLiveVariables(request, () => ({ after: cursor })), { next() {}, error() {}, complete() {} })
    await last().accept()
    expect(last().subscribes()[0].payload?.variables).toEqual({ roomId: 'r1', after: 'c1' })
    cursor = 'c9'
    await last().drop()
    await vi.advanceTimersByTimeAsync(BACKOFF_CAP_MS)
    await last().accept()
    expect(sockets()).toHaveLength(2)
    expect(last().subscribes()[0].payload?.variables).toEqual({ roomId: 'r1', after: 'c9' })
  })

  it('dispose closes the socket and nothing reopens it', async () => {
    const connection = await connected()
    connection.dispose()
    await vi.advanceTimersByTimeAsync(0)
    expect(sockets()[0].readyState).toBe(FakeSocket.CLOSED)
    connection.resume()
    connection.subscribe({ query: 'subscription { notifications { id } }' }, { next() {}, error() {}, complete() {} })
    await vi.advanceTimersByTimeAsync(HOUR)
    expect(sockets()).toHaveLength(1)
    expect(signedOut).toEqual([])
  })
})
