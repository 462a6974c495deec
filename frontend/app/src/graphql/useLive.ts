/**
 * Runs a subscription while the connection is live, and runs it again (with fresh variables)
 * each time the connection's epoch moves: after an idle pause, a refused connection the user
 * retried, or lost retries. Data goes to a callback, so callers merge it into their own state
 * (by id, see session/dedupe.ts) instead of keeping only the last event.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core'
import type { AnyVariables, CombinedError } from '@urql/core'
import { useEffect, useLayoutEffect, useRef } from 'react'
import { useClient } from 'urql'
import { useConnectionState } from '../session/session'
import { LIVE_VARIABLES } from './client'

export interface LiveOptions<Data, Variables extends AnyVariables> {
  /** Identifies what to listen to; null holds the subscription off. */
  key: string | null
  /** Read at each (re)subscription, so a room resumes from its latest cursor. */
  variables: () => Variables
  /** Called for each event. */
  onData: (data: Data) => void
  /** Called for GraphQL errors (an unknown room); socket closes are the banner's business. */
  onError?: (error: CombinedError) => void
}

export function useLive<Data, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
  { key, variables, onData, onError }: LiveOptions<Data, Variables>,
) {
  const client = useClient()
  const { epoch, live } = useConnectionState()
  const callbacks = useRef({ variables, onData, onError })
  useLayoutEffect(() => {
    callbacks.current = { variables, onData, onError }
  })

  useEffect(() => {
    if (key === null || !live) return
    const fresh = () => callbacks.current.variables() as Record<string, unknown>
    const subscription = client
      .subscription(document, callbacks.current.variables(), { [LIVE_VARIABLES]: fresh })
      .subscribe((result) => {
        if (result.data) callbacks.current.onData(result.data)
        if (result.error && result.error.graphQLErrors.length > 0) callbacks.current.onError?.(result.error)
      })
    return () => subscription.unsubscribe()
  }, [client, document, key, epoch, live])
}
