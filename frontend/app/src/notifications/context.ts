/** The notifications store's context and hook (the provider is NotificationsProvider.tsx). */
import { createContext, useContext } from 'react'
import type { NotificationFieldsFragment } from '../gql/graphql'

export interface NotificationsValue {
  items: NotificationFieldsFragment[]
  unreadCount: number
  /** Merges a page of the list query. */
  add: (items: NotificationFieldsFragment[]) => void
  /** Marks the given ones (all when null) read, on the server and here. */
  markRead: (ids: string[] | null) => Promise<string>
}

export const NotificationsContext = createContext<NotificationsValue | null>(null)

export function useNotifications(): NotificationsValue {
  const value = useContext(NotificationsContext)
  if (!value) throw new Error('useNotifications outside NotificationsProvider')
  return value
}
