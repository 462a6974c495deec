/** The frame of every signed-in screen: skip link, nav with the unread badge, banner. */
import { useEffect, type ReactNode } from 'react'
import { useMutation, useQuery } from 'urql'
import { graphql } from '../gql'
import { MeContext, MeDocument } from '../me'
import { useNotifications } from '../notifications/context'
import { NotificationsProvider } from '../notifications/NotificationsProvider'
import { navigate, useLocation } from '../router'
import { Link } from './Link'
import { authStore, useConnection } from '../session/session'
import { ConnectionBanner } from './ConnectionBanner'

const Logout = graphql(`
  mutation Logout {
    logout
  }
`)

export function Shell({ children }: { children: ReactNode }) {
  const [{ data, fetching, error }] = useQuery({ query: MeDocument, requestPolicy: 'network-only' })
  const me = data?.me ?? null

  useEffect(() => {
    // `me` is null for a token the server no longer accepts.
    if (data && !data.me) authStore.signOut('You were signed out: Your session has ended')
  }, [data])

  if (!me) {
    return (
      <main id="main" className="page">
        <p role="status">{fetching || !error ? 'Loading…' : 'The server cannot be reached. Reload to try again.'}</p>
      </main>
    )
  }
  return (
    <MeContext.Provider value={me}>
      <NotificationsProvider>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="top">
          <Nav name={me.displayName} />
        </header>
        <ConnectionBanner />
        <main id="main" className="page" tabIndex={-1}>
          {children}
        </main>
      </NotificationsProvider>
    </MeContext.Provider>
  )
}

const LINKS = [
  { to: '/', label: 'Feed' },
  { to: '/rooms', label: 'Rooms' },
  { to: '/notifications', label: 'Notifications' },
  { to: '/contacts', label: 'Contacts' },
  { to: '/sessions', label: 'Sessions' },
]

function Nav({ name }: { name: string }) {
  const { path } = useLocation()
  const { unreadCount } = useNotifications()
  const [{ fetching }, logout] = useMutation(Logout)
  const connection = useConnection()

  async function signOut() {
    // The server answers logout by closing this session's sockets with 4401; closing ours
    // first keeps that from reading as "you were signed out" in the tab that asked.
    connection?.dispose()
    const result = await logout({})
    const reached = !result.error?.networkError
    authStore.signOut(reached ? 'You signed out.' : 'You signed out on this device; the server could not be reached.')
    navigate('/signin', { replace: true })
  }

  return (
    <nav aria-label="Main">
      <Link to="/" className="brand">
        townsquare
      </Link>
      <ul className="nav-links">
        {LINKS.map(({ to, label }) => {
          const current = to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`)
          return (
            <li key={to}>
              <Link to={to} aria-current={current ? 'page' : undefined}>
                {label}
                {to === '/notifications' && unreadCount > 0 && (
                  <span className="badge" data-testid="unread-badge">
                    {unreadCount}
                    <span className="visually-hidden"> unread</span>
                  </span>
                )}
              </Link>
            </li>
          )
        })}
      </ul>
      <div className="nav-user">
        <span className="muted">{name}</span>
        <button type="button" className="link-button" onClick={signOut} disabled={fetching}>
          Sign out
        </button>
      </div>
    </nav>
  )
}
