// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from 'vitest'
import { createAuthStore, TOKEN_KEY } from './auth'

beforeEach(() => window.localStorage.clear())

describe('auth store', () => {
  it('keeps the token in localStorage', () => {
    const events = new EventTarget()
    const store = createAuthStore(window.localStorage, events)
    store.signIn('abc')
    expect(window.localStorage.getItem(TOKEN_KEY)).toBe('abc')
    expect(createAuthStore(window.localStorage, events).getState().token).toBe('abc')
  })

  it('drops the token and keeps the reason for the sign-in screen', () => {
    const store = createAuthStore(window.localStorage, new EventTarget())
    store.signIn('abc')
    store.signOut('You were signed out: Session revoked')
    expect(store.getState()).toEqual({ token: null, notice: 'You were signed out: Session revoked' })
    expect(window.localStorage.getItem(TOKEN_KEY)).toBeNull()
  })

  it('follows a sign-out in another tab', () => {
    const events = new EventTarget()
    const store = createAuthStore(window.localStorage, events)
    store.signIn('abc')
    let changes = 0
    store.onChange(() => (changes += 1))
    events.dispatchEvent(new StorageEvent('storage', { key: TOKEN_KEY, oldValue: 'abc', newValue: null }))
    expect(store.getState()).toEqual({ token: null, notice: 'You were signed out in another tab.' })
    expect(changes).toBe(1)
  })

  it('follows a sign-in in another tab, and ignores other keys', () => {
    const events = new EventTarget()
    const store = createAuthStore(window.localStorage, events)
    events.dispatchEvent(new StorageEvent('storage', { key: 'other', newValue: 'x' }))
    expect(store.getState().token).toBeNull()
    events.dispatchEvent(new StorageEvent('storage', { key: TOKEN_KEY, newValue: 'def' }))
    expect(store.getState()).toEqual({ token: 'def', notice: '' })
  })
})
