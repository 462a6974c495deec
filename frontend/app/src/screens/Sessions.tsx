/** The viewer's login sessions: where, last seen, revoke one, sign out everywhere else. */
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { FormError } from '../components/Field'
import { useHeadingFocus } from '../components/focus'
import { Time } from '../components/Time'
import { graphql } from '../gql'
import { errorMessage } from '../graphql/errors'
import { describeUserAgent, plural } from '../format'

const MySessions = graphql(`
  query MySessions {
    mySessions {
      id
      createdAt
      lastSeenAt
      expiresAt
      userAgent
      current
      liveConnections
    }
  }
`)

const RevokeSession = graphql(`
  mutation RevokeSession($id: ID!) {
    revokeSession(id: $id)
  }
`)

const LogoutOthers = graphql(`
  mutation LogoutOtherSessions {
    logoutOtherSessions
  }
`)

export function Sessions() {
  const heading = useHeadingFocus()
  const [{ data, error }, refetch] = useQuery({ query: MySessions, requestPolicy: 'network-only' })
  const [, revoke] = useMutation(RevokeSession)
  const [{ fetching: signingOut }, logoutOthers] = useMutation(LogoutOthers)
  const [status, setStatus] = useState('')
  const [actionError, setActionError] = useState('')

  async function revokeOne(id: string) {
    const result = await revoke({ id })
    if (result.error) return setActionError(errorMessage(result.error))
    setActionError('')
    setStatus('That session is signed out.')
    refetch({ requestPolicy: 'network-only' })
  }

  async function signOutOthers() {
    const result = await logoutOthers({})
    if (!result.data) return setActionError(errorMessage(result.error))
    setActionError('')
    setStatus(`Signed out ${plural(result.data.logoutOtherSessions, 'other session')}.`)
    refetch({ requestPolicy: 'network-only' })
  }

  // This device first, then the most recently seen.
  const sessions = [...(data?.mySessions ?? [])].sort(
    (a, b) => Number(b.current) - Number(a.current) || Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt),
  )
  const others = sessions.filter((s) => !s.current).length
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        Your sessions
      </h1>
      <p className="muted">Every device and browser signed in to your account.</p>
      {status && (
        <p role="status" className="notice">
          {status}
        </p>
      )}
      {(error || actionError) && <FormError message={actionError || errorMessage(error)} />}
      <ul className="session-list">
        {sessions.map((session) => (
          <li key={session.id} className="card" data-testid="session">
            <h2 className="session-title">
              {describeUserAgent(session.userAgent)}
              {session.current && <span className="tag">This device</span>}
            </h2>
            <dl className="facts">
              <dt>Last seen</dt>
              <dd>
                <Time value={session.lastSeenAt} />
              </dd>
              <dt>Signed in</dt>
              <dd>
                <Time value={session.createdAt} />
              </dd>
              <dt>Live connections</dt>
              <dd>{session.liveConnections}</dd>
            </dl>
            {session.userAgent && <p className="muted small ua">{session.userAgent}</p>}
            {!session.current && (
              <button type="button" className="secondary small" onClick={() => void revokeOne(session.id)}>
                Sign out this session
              </button>
            )}
          </li>
        ))}
      </ul>
      {others > 0 && (
        <button type="button" onClick={() => void signOutOthers()} disabled={signingOut}>
          Sign out everywhere else
        </button>
      )}
    </section>
  )
}
