// @vitest-environment jsdom
import { act, cleanup, render } from '@testing-library/react'
import type { Client } from 'urql'
import { Provider } from 'urql'
import { afterEach, describe, expect, it } from 'vitest'
import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import { parse } from 'graphql'
import type { Connection, ConnectionState } from '../session/connection'
import { ConnectionContext } from '../session/session'
import { useLive } from './useLive'

/** A test-only document, kept out of codegen so it never reaches the bundle. */
const RoomEventsProbe = parse(`
  subscription RoomEventsProbe($roomId: ID!, $after: String) {
    roomEvents(roomId: $roomId, after: $after) {
      __typename
    }
  }
`) as TypedDocumentNode<{ roomEvents: { __typename: string } }, { roomId: string; after: string | null }>

function fakeConnection(initial: ConnectionState) {
  let state = initial
  const listeners = new Set<() => void>()
  const connection = {
    getState: () => state,
    onChange: (listener: () => void) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    subscribe: () => () => {},
    resume: () => {},
    dispose: () => {},
  } satisfies Connection
  const set = (patch: Partial<ConnectionState>) => {
    state = { ...state, ...patch }
    act(() => listeners.forEach((listener) => listener()))
  }
  return { connection, set }
}

function fakeClient() {
  const unsubscribed: number[] = []
  const calls: { variables: unknown; emit: (data: unknown) => void }[] = []
  const client = {
    subscription: (_query: unknown, variables: unknown) => {
      const index = calls.length
      let callback: (result: { data?: unknown }) => void = () => {}
      calls.push({ variables, emit: (data) => callback({ data }) })
      return {
        subscribe(cb: (result: { data?: unknown }) => void) {
          callback = cb
          return { unsubscribe: () => unsubscribed.push(index) }
        },
      }
    },
  }
  return { client: client as unknown as Client, calls, unsubscribed }
}

afterEach(cleanup)

describe('useLive', () => {
  it('resubscribes with fresh variables at each new epoch, and holds off while not live', () => {
    const { connection, set } = fakeConnection({ status: 'connected', message: '', epoch: 0, live: true })
    const { client, calls, unsubscribed } = fakeClient()
    let cursor: string | null = null
    const seen: unknown[] = []

    function Probe() {
      useLive(RoomEventsProbe, {
        key: 'r1',
        variables: () => ({ roomId: 'r1', after: cursor }),
        onData: (data) => seen.push(data),
      })
      return null
    }

    render(
      <ConnectionContext.Provider value={connection}>
        <Provider value={client}>
          <Probe />
        </Provider>
      </ConnectionContext.Provider>,
    )
    expect(calls.map((c) => c.variables)).toEqual([{ roomId: 'r1', after: null }])
    act(() => calls[0].emit({ roomEvents: { __typename: 'MessagePosted' } }))
    expect(seen).toHaveLength(1)

    cursor = 'c7'
    set({ status: 'paused', live: false })
    expect(unsubscribed).toEqual([0])
    expect(calls).toHaveLength(1)

    set({ status: 'connecting', live: true, epoch: 1 })
    expect(calls.map((c) => c.variables)).toEqual([
      { roomId: 'r1', after: null },
      { roomId: 'r1', after: 'c7' },
    ])

    // Status changes within a live connection do not resubscribe.
    set({ status: 'connected' })
    set({ status: 'reconnecting' })
    expect(calls).toHaveLength(2)
  })
})
