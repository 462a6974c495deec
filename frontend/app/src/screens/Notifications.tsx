/** The notification list: pages of the query merged with what arrived live. */
import { useCallback, useEffect, useState } from 'react'
import { useClient } from 'urql'
import { FormError } from '../components/Field'
import { useHeadingFocus } from '../components/focus'
import { Time } from '../components/Time'
import { graphql } from '../gql'
import type { NotificationFieldsFragment } from '../gql/graphql'
import { errorMessage } from '../graphql/errors'
import { useNotifications } from '../notifications/context'

const NotificationsQuery = graphql(`
  query Notifications($after: String) {
    notifications(first: 20, after: $after) {
      edges {
        node {
          ...NotificationFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`)

function describe(n: NotificationFieldsFragment): string {
  const who = n.actor.displayName
  const excerpt = (text: string | undefined) => (text ? `: “${text.length > 80 ? `${text.slice(0, 80)}…` : text}”` : '')
  switch (n.kind) {
    case 'POST_LIKED':
      return `${who} liked your post${excerpt(n.post?.body)}`
    case 'POST_COMMENTED':
      return `${who} commented on your post${excerpt(n.comment?.body)}`
    case 'CONTACT_ADDED':
      return `${who} added you to their contacts`
  }
}

export function Notifications() {
  const heading = useHeadingFocus()
  const client = useClient()
  const { items, unreadCount, add, markRead } = useNotifications()
  const [page, setPage] = useState<{ hasNextPage: boolean; endCursor?: string | null } | null>(null)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState('')

  const fetchPage = useCallback(
    (after: string | null) =>
      client.query(NotificationsQuery, { after }, { requestPolicy: 'network-only' }).toPromise(),
    [client],
  )

  const showPage = useCallback(
    (result: Awaited<ReturnType<typeof fetchPage>>) => {
      setLoading(false)
      if (!result.data) return setError(errorMessage(result.error))
      add(result.data.notifications.edges.map((edge) => edge.node))
      setPage(result.data.notifications.pageInfo)
    },
    [add],
  )

  useEffect(() => {
    let active = true
    void fetchPage(null).then((result) => active && showPage(result))
    return () => {
      active = false
    }
  }, [fetchPage, showPage])

  async function loadMore(after: string | null) {
    setLoading(true)
    showPage(await fetchPage(after))
  }

  async function mark(ids: string[] | null) {
    setError(await markRead(ids))
  }

  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        Notifications
      </h1>
      <div className="toolbar">
        <p className="muted" aria-live="polite">
          {unreadCount === 0 ? 'Nothing unread.' : `${unreadCount} unread`}
        </p>
        {unreadCount > 0 && (
          <button type="button" className="secondary small" onClick={() => void mark(null)}>
            Mark all as read
          </button>
        )}
      </div>
      {error && <FormError message={error} />}
      {items.length === 0 && !loading && <p className="muted">No notifications yet.</p>}
      <ul className="notification-list" aria-label="Notifications">
        {items.map((n) => (
          <li key={n.id} className={n.read ? 'notification' : 'notification unread'} data-testid="notification">
            <p>
              {!n.read && <span className="visually-hidden">Unread: </span>}
              {describe(n)}
            </p>
            <span className="muted small">
              <Time value={n.createdAt} />
            </span>
            {!n.read && (
              <button type="button" className="link-button small" onClick={() => void mark([n.id])}>
                Mark as read
              </button>
            )}
          </li>
        ))}
      </ul>
      {loading && <p role="status">Loading notifications…</p>}
      {page?.hasNextPage && !loading && (
        <button type="button" className="secondary" onClick={() => void loadMore(page.endCursor ?? null)}>
          Load more
        </button>
      )}
    </section>
  )
}
