/** Confirms the email address with the 6-digit code sent at sign-up. */
import { useRef, useState, type FormEvent } from 'react'
import { useMutation } from 'urql'
import { Field, FormError } from '../components/Field'
import { useErrorFocus, useHeadingFocus } from '../components/focus'
import { graphql } from '../gql'
import { errorMessage, NO_ERRORS, toFormErrors, type FormErrors } from '../graphql/errors'
import { useMe } from '../me'
import { Link } from '../components/Link'

const VerifyEmail = graphql(`
  mutation VerifyEmail($code: String!) {
    verifyEmail(code: $code) {
      id
      emailVerified
    }
  }
`)

const RequestVerification = graphql(`
  mutation RequestEmailVerification {
    requestEmailVerification
  }
`)

export function Verify() {
  const me = useMe()
  const heading = useHeadingFocus()
  const form = useRef<HTMLFormElement>(null)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  const [status, setStatus] = useState('')
  const [{ fetching }, verify] = useMutation(VerifyEmail)
  const [{ fetching: sending }, resend] = useMutation(RequestVerification)
  useErrorFocus(form, errors)

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    const code = String(new FormData(event.currentTarget).get('code') ?? '').trim()
    const result = await verify({ code })
    if (!result.data) return setErrors(toFormErrors(result.error, ['code']))
    setErrors(NO_ERRORS)
    setStatus('Your email address is verified.')
  }

  async function sendAgain() {
    const result = await resend({})
    setStatus(result.error ? errorMessage(result.error) : `A new code is on its way to ${me.email ?? 'your address'}.`)
  }

  const verified = me.emailVerified || status === 'Your email address is verified.'
  return (
    <section className="narrow">
      <h1 ref={heading} tabIndex={-1}>
        Verify your email
      </h1>
      {status && (
        <p role="status" className="notice">
          {status}
        </p>
      )}
      {verified ? (
        <p>
          All set. <Link to="/">Go to the feed</Link>
        </p>
      ) : (
        <>
          <p>We sent a 6-digit code to {me.email}. Enter it to confirm the address.</p>
          <form ref={form} onSubmit={submit} noValidate>
            {errors.form && <FormError message={errors.form} />}
            <Field
              label="Code"
              name="code"
              inputMode="numeric"
              autoComplete="one-time-code"
              required
              error={errors.fields.code}
            />
            <button type="submit" disabled={fetching}>
              Verify
            </button>
          </form>
          <p>
            <button type="button" className="link-button" onClick={sendAgain} disabled={sending}>
              Send a new code
            </button>{' '}
            · <Link to="/">Later</Link>
          </p>
        </>
      )}
    </section>
  )
}
