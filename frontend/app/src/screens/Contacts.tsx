/** The viewer's contacts with live online dots (`contactPresence`). */
import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { FormError } from '../components/Field'
import { useHeadingFocus } from '../components/focus'
import { graphql } from '../gql'
import { errorMessage } from '../graphql/errors'
import { useLive } from '../graphql/useLive'
import { Link } from '../components/Link'

const ContactsQuery = graphql(`
  query Contacts {
    contacts {
      ...UserBits
      online
    }
  }
`)

const ContactPresence = graphql(`
  subscription ContactPresence {
    contactPresence {
      online
      user {
        ...UserBits
      }
    }
  }
`)

const RemoveContact = graphql(`
  mutation RemoveContact($userId: ID!) {
    removeContact(userId: $userId)
  }
`)

export function Contacts() {
  const heading = useHeadingFocus()
  const [{ data, error }, refetch] = useQuery({ query: ContactsQuery, requestPolicy: 'network-only' })
  const [online, setOnline] = useState<Record<string, boolean>>({})
  const [removed, setRemoved] = useState<ReadonlySet<string>>(new Set())
  const [, remove] = useMutation(RemoveContact)
  const [actionError, setActionError] = useState('')

  useLive(ContactPresence, {
    key: 'contacts',
    variables: () => ({}),
    onData: ({ contactPresence }) => {
      setOnline((current) => ({ ...current, [contactPresence.user.id]: contactPresence.online }))
      // Someone added in another tab shows up too.
      if (data && !data.contacts.some((c) => c.id === contactPresence.user.id)) {
        refetch({ requestPolicy: 'network-only' })
      }
    },
  })

  async function removeContact(id: string) {
    const result = await remove({ userId: id })
    if (result.error) return setActionError(errorMessage(result.error))
    setRemoved((current) => new Set([...current, id]))
  }

  const contacts = (data?.contacts ?? []).filter((c) => !removed.has(c.id))
  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        Contacts
      </h1>
      {(error || actionError) && <FormError message={actionError || errorMessage(error)} />}
      {data && contacts.length === 0 && (
        <p className="muted">
          No contacts yet. Add people from the <Link to="/">feed</Link>.
        </p>
      )}
      <ul className="contact-list">
        {contacts.map((contact) => {
          const isOnline = online[contact.id] ?? contact.online
          return (
            <li key={contact.id} data-testid="contact">
              <span className={isOnline ? 'dot online' : 'dot'} aria-hidden="true" />
              <span>
                {contact.displayName} <span className="muted">@{contact.username}</span>
              </span>
              <span className="small muted">{isOnline ? 'online' : 'offline'}</span>
              <button type="button" className="link-button small" onClick={() => void removeContact(contact.id)}>
                Remove
              </button>
            </li>
          )
        })}
      </ul>
    </section>
  )
}
