/**
 * The signed-in token, kept in localStorage so every tab of the browser shares it, and the
 * notice the sign-in screen shows after a sign-out ("You were signed out: Session revoked").
 */

/** The localStorage key of the bearer token. */
export const TOKEN_KEY = 'townsquare.token'

/** What the app knows about being signed in. */
export interface AuthState {
  token: string | null
  /** A sentence for the sign-in screen: why the user was signed out, or what to do next. */
  notice: string
}

/** The auth store: a token, a notice, and change listeners. */
export interface AuthStore {
  getState: () => AuthState
  onChange: (listener: () => void) => () => void
  signIn: (token: string) => void
  signOut: (notice?: string) => void
  setNotice: (notice: string) => void
}

export function createAuthStore(storage: Storage, events: EventTarget): AuthStore {
  const listeners = new Set<() => void>()
  let state: AuthState = { token: readToken(storage), notice: '' }

  function set(next: AuthState) {
    if (next.token === state.token && next.notice === state.notice) return
    state = next
    for (const listener of [...listeners]) listener()
  }

  // Another tab signed in or out: follow it, so no tab keeps using a token that is gone.
  events.addEventListener('storage', (event) => {
    const { key, newValue } = event as StorageEvent
    if (key !== TOKEN_KEY && key !== null) return
    const token = key === null ? null : newValue
    if (token === state.token) return
    set({ token, notice: token === null && state.token !== null ? 'You were signed out in another tab.' : '' })
  })

  return {
    getState: () => state,
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    signIn(token) {
      writeToken(storage, token)
      set({ token, notice: '' })
    },
    signOut(notice = '') {
      writeToken(storage, null)
      set({ token: null, notice: state.token === null && !notice ? state.notice : notice })
    },
    setNotice(notice) {
      set({ ...state, notice })
    },
  }
}

function readToken(storage: Storage): string | null {
  try {
    return storage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function writeToken(storage: Storage, token: string | null) {
  try {
    if (token === null) storage.removeItem(TOKEN_KEY)
    else storage.setItem(TOKEN_KEY, token)
  } catch {
    // Storage can be unavailable (private mode, quota); the tab still works until reload.
  }
}
