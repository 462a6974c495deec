/** Provides the current session's urql client and live connection to the tree below. */
import { useSyncExternalStore, type ReactNode } from 'react'
import { Provider } from 'urql'
import { ConnectionContext, currentSession, onSessionChange } from './session'

export function SessionProvider({ children }: { children: ReactNode }) {
  const current = useSyncExternalStore(onSessionChange, currentSession)
  return (
    <ConnectionContext.Provider value={current.connection}>
      <Provider value={current.client}>{children}</Provider>
    </ConnectionContext.Provider>
  )
}
