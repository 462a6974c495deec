/** Signed-out screens: sign in, sign up, forgot password, reset password. */
import { useRef, useState, type FormEvent } from 'react'
import { useMutation } from 'urql'
import { Field, FormError } from '../components/Field'
import { useErrorFocus, useHeadingFocus } from '../components/focus'
import { graphql } from '../gql'
import { NO_ERRORS, toFormErrors, type FormErrors } from '../graphql/errors'
import { navigate, useLocation } from '../router'
import { Link } from '../components/Link'
import { authStore, useAuth } from '../session/session'

const LoginDocument = graphql(`
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      token
    }
  }
`)

const RegisterDocument = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      token
    }
  }
`)

const RequestReset = graphql(`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email)
  }
`)

const ResetPasswordDocument = graphql(`
  mutation ResetPassword($email: String!, $code: String!, $newPassword: String!) {
    resetPassword(email: $email, code: $code, newPassword: $newPassword)
  }
`)

function values(event: FormEvent<HTMLFormElement>): Record<string, string> {
  event.preventDefault()
  const result: Record<string, string> = {}
  new FormData(event.currentTarget).forEach((value, key) => {
    result[key] = typeof value === 'string' ? value : ''
  })
  return result
}

/** State shared by the four forms: errors, and focus on the first bad field. */
function useForm() {
  const form = useRef<HTMLFormElement>(null)
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS)
  useErrorFocus(form, errors)
  return { form, errors, setErrors }
}

export function SignIn() {
  const { notice } = useAuth()
  const heading = useHeadingFocus()
  const { form, errors, setErrors } = useForm()
  const [{ fetching }, login] = useMutation(LoginDocument)

  async function submit(event: FormEvent<HTMLFormElement>) {
    const { email, password } = values(event)
    const result = await login({ email, password })
    if (!result.data) return setErrors(toFormErrors(result.error, ['email', 'password']))
    authStore.signIn(result.data.login.token)
    navigate('/', { replace: true })
  }

  return (
    <section className="auth">
      <h1 ref={heading} tabIndex={-1}>
        Sign in
      </h1>
      {notice && (
        <p role="status" className="notice" data-testid="signin-notice">
          {notice}
        </p>
      )}
      <form ref={form} onSubmit={submit} noValidate>
        {errors.form && <FormError message={errors.form} />}
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.fields.email} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          error={errors.fields.password}
        />
        <button type="submit" disabled={fetching}>
          {fetching ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        <Link to="/forgot">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </section>
  )
}

export function SignUp() {
  const heading = useHeadingFocus()
  const { form, errors, setErrors } = useForm()
  const [{ fetching }, register] = useMutation(RegisterDocument)

  async function submit(event: FormEvent<HTMLFormElement>) {
    const { email, username, displayName, password } = values(event)
    const input = { email, username, password, displayName: displayName.trim() || null }
    const result = await register({ input })
    if (!result.data) return setErrors(toFormErrors(result.error, ['email', 'username', 'displayName', 'password']))
    authStore.signIn(result.data.register.token)
    navigate('/verify', { replace: true })
  }

  return (
    <section className="auth">
      <h1 ref={heading} tabIndex={-1}>
        Create an account
      </h1>
      <form ref={form} onSubmit={submit} noValidate>
        {errors.form && <FormError message={errors.form} />}
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.fields.email} />
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          hint="3 to 32 of a–z, 0–9 and _"
          error={errors.fields.username}
        />
        <Field
          label="Display name (optional)"
          name="displayName"
          autoComplete="nickname"
          error={errors.fields.displayName}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint="8 to 128 characters; a few unrelated words work well"
          error={errors.fields.password}
        />
        <button type="submit" disabled={fetching}>
          {fetching ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </section>
  )
}

export function ForgotPassword() {
  const heading = useHeadingFocus()
  const { form, errors, setErrors } = useForm()
  const [{ fetching }, request] = useMutation(RequestReset)

  async function submit(event: FormEvent<HTMLFormElement>) {
    const { email } = values(event)
    const result = await request({ email })
    if (!result.data) return setErrors(toFormErrors(result.error, ['email']))
    navigate(`/reset?email=${encodeURIComponent(email.trim())}`)
  }

  return (
    <section className="auth">
      <h1 ref={heading} tabIndex={-1}>
        Forgot your password?
      </h1>
      <p>Enter your email address. If it belongs to an account, we send it a code to set a new password.</p>
      <form ref={form} onSubmit={submit} noValidate>
        {errors.form && <FormError message={errors.form} />}
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.fields.email} />
        <button type="submit" disabled={fetching}>
          Send code
        </button>
      </form>
      <p>
        <Link to="/reset">I already have a code</Link> · <Link to="/signin">Back to sign in</Link>
      </p>
    </section>
  )
}

export function ResetPassword() {
  const heading = useHeadingFocus()
  const { query } = useLocation()
  const { form, errors, setErrors } = useForm()
  const [{ fetching }, reset] = useMutation(ResetPasswordDocument)
  const email = query.get('email') ?? ''

  async function submit(event: FormEvent<HTMLFormElement>) {
    const { email, code, newPassword } = values(event)
    const result = await reset({ email, code: code.trim(), newPassword })
    if (!result.data) return setErrors(toFormErrors(result.error, ['email', 'code', 'newPassword']))
    authStore.setNotice('Your password is changed, and every session was signed out. Sign in with the new password.')
    navigate('/signin', { replace: true })
  }

  return (
    <section className="auth">
      <h1 ref={heading} tabIndex={-1}>
        Set a new password
      </h1>
      {email && <p role="status">If {email} has an account, a code is on its way. It works for 10 minutes.</p>}
      <form ref={form} onSubmit={submit} noValidate>
        {errors.form && <FormError message={errors.form} />}
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          defaultValue={email}
          error={errors.fields.email}
        />
        <Field
          label="Code from the email"
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          required
          error={errors.fields.code}
        />
        <Field
          label="New password"
          name="newPassword"
          type="password"
          autoComplete="new-password"
          required
          hint="8 to 128 characters"
          error={errors.fields.newPassword}
        />
        <button type="submit" disabled={fetching}>
          Set password
        </button>
      </form>
      <p>
        <Link to="/forgot">Send a new code</Link> · <Link to="/signin">Back to sign in</Link>
      </p>
    </section>
  )
}
