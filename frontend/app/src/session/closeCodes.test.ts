import { describe, expect, it } from 'vitest'
import { classifyClose, shouldRetry, type CloseKind, type Reconnect } from './closeCodes'

const close = (code: number, reason = '') => ({ code, reason, wasClean: true })

describe('classifyClose', () => {
  // Each row: what ended the socket, what the user reads, whether and how the client comes back.
  const table: [string, unknown, CloseKind, RegExp, Reconnect][] = [
    ['revoked session', close(4401, 'Session revoked'), 'signedOut', /^You were signed out: Session revoked$/, 'never'],
    ['expired session', close(4401, 'Session expired'), 'signedOut', /^You were signed out: Session expired$/, 'never'],
    ['refused token', close(4403, 'Forbidden'), 'signedOut', /^You were signed out: /, 'never'],
    ['idle timeout', close(1008, 'Session idle timeout'), 'paused', /paused/, 'onActivity'],
    ['too many connections', close(1008, 'Too many connections'), 'tooMany', /Too many connections/, 'manual'],
    ['slow consumer', close(1008, 'Slow consumer'), 'reconnectSoon', /Reconnecting/, 'backoff'],
    ['server shutting down', close(1001, 'Server shutting down'), 'retry', /restarting.*Reconnecting/, 'backoff'],
    ['keepalive timeout', close(1001, 'Keepalive timeout'), 'retry', /Reconnecting/, 'backoff'],
    ['network loss', close(1006), 'retry', /Connection lost/, 'backoff'],
    ['no status', close(1005), 'retry', /Connection lost/, 'backoff'],
    ['browser error event', new Event('error'), 'retry', /Connection lost/, 'backoff'],
    ['init timeout', close(4408, 'Connection initialisation timeout'), 'retry', /Connection lost/, 'backoff'],
    ['malformed message', close(4400, 'Bad request'), 'failed', /Live updates stopped \(4400/, 'manual'],
    ['duplicate id', close(4409, 'Subscriber for 1 already exists'), 'failed', /4409/, 'manual'],
    ['message too big', close(1009, 'Message too big'), 'failed', /1009/, 'manual'],
    ['normal closure', close(1000, 'Normal Closure'), 'normal', /^$/, 'never'],
  ]

  it.each(table)('%s', (_name, event, kind, message, reconnect) => {
    const decision = classifyClose(event)
    expect(decision.kind).toBe(kind)
    expect(decision.message).toMatch(message)
    expect(decision.reconnect).toBe(reconnect)
  })

  it('never lets graphql-ws retry a close that must not reconnect by itself', () => {
    const retried = table.filter(([, event]) => shouldRetry(event)).map(([, , kind]) => kind)
    expect(new Set(retried)).toEqual(new Set(['retry']))
    expect(retried).toHaveLength(table.filter(([, , kind]) => kind === 'retry').length)
  })
})
