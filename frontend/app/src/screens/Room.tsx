/**
 * One chat room: history with "load earlier", live messages, who is online, who is typing.
 *
 * The subscription starts before the history is read, and both are merged by id, so a message
 * sent in between is neither lost nor shown twice. The newest cursor seen is what a
 * resubscription (after a pause or a lost socket) passes as `after`.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react'
import { useClient, useMutation } from 'urql'
import { FormError, TextArea } from '../components/Field'
import { useHeadingFocus } from '../components/focus'
import { Time } from '../components/Time'
import { graphql } from '../gql'
import type { MessageFieldsFragment, UserBitsFragment } from '../gql/graphql'
import { errorMessage, NO_ERRORS, toFormErrors, type FormErrors } from '../graphql/errors'
import { useLive } from '../graphql/useLive'
import { listNames } from '../format'
import { useMe } from '../me'
import { Link } from '../components/Link'
import { appendUnique, prependUnique } from '../session/dedupe'

const RoomHistory = graphql(`
  query RoomHistory($id: ID!, $before: String) {
    room(id: $id) {
      id
      name
      messages(last: 50, before: $before) {
        edges {
          cursor
          node {
            ...MessageFields
          }
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`)

const RoomEvents = graphql(`
  subscription RoomEvents($roomId: ID!, $after: String) {
    roomEvents(roomId: $roomId, after: $after) {
      __typename
      ... on PresenceSnapshot {
        onlineCount
        onlineUsers {
          ...UserBits
        }
      }
      ... on MessagePosted {
        cursor
        message {
          ...MessageFields
        }
      }
      ... on MemberJoined {
        onlineCount
        user {
          ...UserBits
        }
      }
      ... on MemberLeft {
        onlineCount
        user {
          ...UserBits
        }
      }
      ... on TypingChanged {
        typing
        user {
          ...UserBits
        }
      }
    }
  }
`)

const SendMessage = graphql(`
  mutation SendMessage($roomId: ID!, $body: String!) {
    sendMessage(roomId: $roomId, body: $body) {
      ...MessageFields
    }
  }
`)

const SetTyping = graphql(`
  mutation SetTyping($roomId: ID!, $typing: Boolean!) {
    setTyping(roomId: $roomId, typing: $typing)
  }
`)

/** How often a continuing typist renews `setTyping(true)` (the server lapses it after a while). */
const TYPING_RENEW_MS = 1500
/** Quiet time after the last keystroke before `setTyping(false)`. */
const TYPING_STOP_MS = 3000

interface Presence {
  count: number
  users: UserBitsFragment[]
}

export function Room({ roomId }: { roomId: string }) {
  const me = useMe()
  const heading = useHeadingFocus()
  const client = useClient()
  const [name, setName] = useState<string | null>(null)
  const [missing, setMissing] = useState('')
  const [messages, setMessages] = useState<MessageFieldsFragment[]>([])
  const [earlier, setEarlier] = useState<{ hasPreviousPage: boolean; startCursor?: string | null } | null>(null)
  const [loadingEarlier, setLoadingEarlier] = useState(false)
  const [presence, setPresence] = useState<Presence | null>(null)
  const [typing, setTyping] = useState<UserBitsFragment[]>([])
  /** The newest message cursor seen: where a resubscription resumes. */
  const lastCursor = useRef<string | null>(null)

  useLive(RoomEvents, {
    key: roomId,
    variables: () => ({ roomId, after: lastCursor.current }),
    onData: ({ roomEvents: event }) => {
      switch (event.__typename) {
        case 'PresenceSnapshot':
          // A snapshot opens every (re)subscription: whatever was typing before is stale.
          setPresence({ count: event.onlineCount, users: event.onlineUsers })
          setTyping([])
          return
        case 'MessagePosted':
          lastCursor.current = event.cursor
          setMessages((current) => appendUnique(current, [event.message]))
          setTyping((current) => current.filter((u) => u.id !== event.message.author.id))
          return
        case 'MemberJoined':
          setPresence((current) => ({
            count: event.onlineCount,
            users: appendUnique(current?.users ?? [], [event.user]),
          }))
          return
        case 'MemberLeft':
          setPresence((current) => ({
            count: event.onlineCount,
            users: (current?.users ?? []).filter((u) => u.id !== event.user.id),
          }))
          setTyping((current) => current.filter((u) => u.id !== event.user.id))
          return
        case 'TypingChanged':
          setTyping((current) =>
            event.typing ? appendUnique(current, [event.user]) : current.filter((u) => u.id !== event.user.id),
          )
          return
      }
    },
    onError: (error) => setMissing(errorMessage(error)),
  })

  const fetchHistory = useCallback(
    (before: string | null) =>
      client.query(RoomHistory, { id: roomId, before }, { requestPolicy: 'network-only' }).toPromise(),
    [client, roomId],
  )

  const showHistory = useCallback(
    (result: Awaited<ReturnType<typeof fetchHistory>>, before: string | null) => {
      if (!result.data) return setMissing(errorMessage(result.error))
      const room = result.data.room
      if (!room) return setMissing('This room does not exist.')
      setName(room.name)
      const edges = room.messages.edges
      const nodes = edges.map((edge) => edge.node)
      if (before) {
        setMessages((current) => prependUnique(current, nodes))
      } else {
        // Live messages that came first are newer than the history, or in it.
        setMessages((current) => appendUnique(nodes, current))
        lastCursor.current ??= edges.at(-1)?.cursor ?? null
      }
      setEarlier(room.messages.pageInfo)
    },
    [],
  )

  useEffect(() => {
    let active = true
    void fetchHistory(null).then((result) => active && showHistory(result, null))
    return () => {
      active = false
    }
  }, [fetchHistory, showHistory])

  async function loadEarlier() {
    const before = earlier?.startCursor
    if (!before) return
    setLoadingEarlier(true)
    showHistory(await fetchHistory(before), before)
    setLoadingEarlier(false)
  }

  if (missing && name === null) {
    return (
      <section>
        <h1 ref={heading} tabIndex={-1}>
          Room not available
        </h1>
        <FormError message={missing} />
        <p>
          <Link to="/rooms">All rooms</Link>
        </p>
      </section>
    )
  }

  const others = typing.filter((u) => u.id !== me.id)
  return (
    <section className="room">
      <div className="room-head">
        <h1 ref={heading} tabIndex={-1}>
          {name ?? 'Loading room…'}
        </h1>
        <Link to="/rooms" className="small">
          All rooms
        </Link>
      </div>
      <p className="presence" data-testid="room-presence">
        {presence ? (
          <>
            <strong>{presence.count} online</strong>
            {presence.users.length > 0 && `: ${listNames(presence.users.map((u) => u.displayName))}`}
          </>
        ) : (
          <span className="muted">Connecting…</span>
        )}
      </p>
      {earlier?.hasPreviousPage && (
        <button type="button" className="secondary small" onClick={loadEarlier} disabled={loadingEarlier}>
          Load earlier messages
        </button>
      )}
      <MessageList messages={messages} myId={me.id} />
      <p className="typing muted small" aria-live="polite" data-testid="typing">
        {others.length > 0 &&
          `${listNames(others.map((u) => u.displayName))} ${others.length === 1 ? 'is' : 'are'} typing…`}
      </p>
      <Composer
        roomId={roomId}
        roomName={name ?? ''}
        onSent={(message) => setMessages((current) => appendUnique(current, [message]))}
      />
    </section>
  )
}

function MessageList({ messages, myId }: { messages: MessageFieldsFragment[]; myId: string }) {
  const list = useRef<HTMLDivElement>(null)
  const newest = messages.at(-1)?.id
  useLayoutEffect(() => {
    // Follow new messages at the bottom; loading earlier ones leaves the view alone.
    const element = list.current
    if (element && newest) element.scrollTop = element.scrollHeight
  }, [newest])

  return (
    // A scrolling region must be reachable by keyboard to be scrolled without a mouse.
    // oxlint-disable-next-line jsx-a11y/no-noninteractive-tabindex
    <div ref={list} className="messages" role="log" aria-label="Messages" tabIndex={0} data-testid="messages">
      {messages.length === 0 && <p className="muted">No messages yet. Say hello.</p>}
      <ol className="message-list">
        {messages.map((message) => (
          <li key={message.id} className={message.author.id === myId ? 'message mine' : 'message'}>
            <div className="message-head">
              <strong>{message.author.displayName}</strong>{' '}
              <span className="muted small">
                <Time value={message.createdAt} />
              </span>
            </div>
            <p className="body">{message.body}</p>
          </li>
        ))}
      </ol>
    </div>
  )
}

interface ComposerProps {
  roomId: string
  roomName: string
  onSent: (message: MessageFieldsFragment) => void
}

function Composer({ roomId, roomName, onSent }: ComposerProps) {
  const [{ fetching }, send] = useMutation(SendMessage)
  const [, sendTyping] = useMutation(SetTyping)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const form = useRef<HTMLFormElement>(null)
  /** When `setTyping(true)` was last sent; 0 when not typing. */
  const typingSince = useRef(0)
  const stopTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)

  const stopTyping = useCallback(
    (tell: boolean) => {
      clearTimeout(stopTimer.current)
      if (typingSince.current && tell) void sendTyping({ roomId, typing: false })
      typingSince.current = 0
    },
    [roomId, sendTyping],
  )

  useEffect(() => () => stopTyping(true), [stopTyping])

  function onInput(value: string) {
    if (!value.trim()) return stopTyping(true)
    const now = Date.now()
    if (now - typingSince.current > TYPING_RENEW_MS) {
      typingSince.current = now
      void sendTyping({ roomId, typing: true })
    }
    clearTimeout(stopTimer.current)
    stopTimer.current = setTimeout(() => stopTyping(true), TYPING_STOP_MS)
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter is a new line; an IME composing text keeps its Enter.
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault()
      form.current?.requestSubmit()
    }
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const target = event.currentTarget
    const body = String(new FormData(target).get('body') ?? '')
    if (!body.trim()) return
    const result = await send({ roomId, body })
    if (!result.data) return setErrors(toFormErrors(result.error, ['body']))
    // The message itself ends the typing indicator on the server.
    stopTyping(false)
    setErrors(NO_ERRORS)
    target.reset()
    onSent(result.data.sendMessage)
  }

  return (
    <form ref={form} onSubmit={submit} className="composer" noValidate>
      <TextArea
        label={roomName ? `Message ${roomName}` : 'Message'}
        hideLabel
        name="body"
        rows={2}
        maxLength={4000}
        placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
        onKeyDown={onKeyDown}
        onChange={(event) => onInput(event.target.value)}
        error={errors.fields.body}
      />
      <button type="submit" disabled={fetching}>
        Send
      </button>
      {errors.form && <FormError message={errors.form} />}
    </form>
  )
}
