/** Which screen a path shows, signed in or not. */
import { useEffect } from 'react'
import { Shell } from './components/Shell'
import { navigate, useLocation } from './router'
import { ForgotPassword, ResetPassword, SignIn, SignUp } from './screens/auth'
import { Contacts } from './screens/Contacts'
import { Feed } from './screens/Feed'
import { Notifications } from './screens/Notifications'
import { Room } from './screens/Room'
import { Rooms } from './screens/Rooms'
import { Sessions } from './screens/Sessions'
import { Verify } from './screens/Verify'
import { SessionProvider } from './session/SessionProvider'
import { useAuth } from './session/session'

const PUBLIC_PATHS = ['/signin', '/signup', '/forgot', '/reset']

export function App() {
  return (
    <SessionProvider>
      <Screens />
    </SessionProvider>
  )
}

function Screens() {
  const { token } = useAuth()
  const { path } = useLocation()
  const isPublic = PUBLIC_PATHS.includes(path)

  useEffect(() => {
    if (!token && !isPublic) navigate('/signin', { replace: true })
    if (token && (path === '/signin' || path === '/signup')) navigate('/', { replace: true })
  }, [token, isPublic, path])

  if (!token) {
    return (
      <main id="main" className="page">
        {path === '/signup' ? (
          <SignUp />
        ) : path === '/forgot' ? (
          <ForgotPassword />
        ) : path === '/reset' ? (
          <ResetPassword />
        ) : (
          <SignIn />
        )}
      </main>
    )
  }
  return <Shell>{signedIn(path)}</Shell>
}

function signedIn(path: string) {
  const room = /^\/rooms\/([^/]+)$/.exec(path)
  if (room) {
    const id = decodeURIComponent(room[1])
    return <Room key={id} roomId={id} />
  }
  switch (path) {
    case '/rooms':
      return <Rooms />
    case '/notifications':
      return <Notifications />
    case '/contacts':
      return <Contacts />
    case '/sessions':
      return <Sessions />
    case '/verify':
      return <Verify />
    case '/forgot':
      return <ForgotPassword />
    case '/reset':
      return <ResetPassword />
    default:
      return <Feed />
  }
}
