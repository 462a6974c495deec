/**
 * The signed-in user's notifications, for the nav badge and the list: one store fed by pages
 * of the `notifications` query and by the `notifications` subscription (which starts with the
 * unread backlog on every (re)subscription), merged by id so nothing shows twice.
 */
import { useCallback, useMemo, useState, type ReactNode } from 'react'
import { useMutation } from 'urql'
import { graphql } from '../gql'
import type { NotificationFieldsFragment } from '../gql/graphql'
import { useLive } from '../graphql/useLive'
import { mergeNewestFirst } from '../session/dedupe'
import { NotificationsContext } from './context'

const LiveNotifications = graphql(`
  subscription LiveNotifications {
    notifications {
      ...NotificationFields
    }
  }
`)

const MarkRead = graphql(`
  mutation MarkNotificationsRead($ids: [ID!]) {
    markNotificationsRead(ids: $ids)
  }
`)



export function NotificationsProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<NotificationFieldsFragment[]>([])
  const [, markReadMutation] = useMutation(MarkRead)

  const add = useCallback((incoming: NotificationFieldsFragment[]) => {
    setItems((current) => mergeNewestFirst(current, incoming))
  }, [])

  useLive(LiveNotifications, {
    key: 'notifications',
    variables: () => ({}),
    onData: (data) => add([data.notifications]),
  })

  const markRead = useCallback(
    async (ids: string[] | null) => {
      const result = await markReadMutation({ ids })
      if (result.error) return result.error.message
      setItems((current) => current.map((n) => (ids === null || ids.includes(n.id) ? { ...n, read: true } : n)))
      return ''
    },
    [markReadMutation],
  )

  const value = useMemo(
    () => ({ items, unreadCount: items.filter((n) => !n.read).length, add, markRead }),
    [items, add, markRead],
  )
  return <NotificationsContext.Provider value={value}>{children}</NotificationsContext.Provider>
}
