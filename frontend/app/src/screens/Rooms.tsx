/** The list of chat rooms, and a form to create one. */
import { useRef, useState, type FormEvent } from 'react'
import { useMutation, useQuery } from 'urql'
import { Field, FormError } from '../components/Field'
import { useErrorFocus, useHeadingFocus } from '../components/focus'
import { graphql } from '../gql'
import { errorMessage, NO_ERRORS, toFormErrors, type FormErrors } from '../graphql/errors'
import { navigate } from '../router'
import { Link } from '../components/Link'

const RoomsQuery = graphql(`
  query Rooms {
    rooms {
      id
      name
    }
  }
`)

const CreateRoom = graphql(`
  mutation CreateRoom($name: String!) {
    createRoom(name: $name) {
      id
      name
    }
  }
`)

export function Rooms() {
  const heading = useHeadingFocus()
  const [{ data, fetching, error }] = useQuery({ query: RoomsQuery, requestPolicy: 'cache-and-network' })
  const [{ fetching: creating }, create] = useMutation(CreateRoom)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const form = useRef<HTMLFormElement>(null)
  useErrorFocus(form, errors)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const name = String(new FormData(event.currentTarget).get('name') ?? '')
    const result = await create({ name })
    if (!result.data) return setErrors(toFormErrors(result.error, ['name']))
    navigate(`/rooms/${encodeURIComponent(result.data.createRoom.id)}`)
  }

  return (
    <section>
      <h1 ref={heading} tabIndex={-1}>
        Rooms
      </h1>
      {error && <FormError message={errorMessage(error)} />}
      {data && data.rooms.length === 0 && <p className="muted">No rooms yet. Create the first one.</p>}
      {data && data.rooms.length > 0 && (
        <ul className="room-list">
          {data.rooms.map((room) => (
            <li key={room.id}>
              <Link to={`/rooms/${encodeURIComponent(room.id)}`}>{room.name}</Link>
            </li>
          ))}
        </ul>
      )}
      {!data && fetching && <p role="status">Loading rooms…</p>}
      <form ref={form} onSubmit={submit} className="card" noValidate>
        <h2>New room</h2>
        {errors.form && <FormError message={errors.form} />}
        <Field label="Room name" name="name" maxLength={64} required error={errors.fields.name} />
        <button type="submit" disabled={creating}>
          Create room
        </button>
      </form>
    </section>
  )
}
