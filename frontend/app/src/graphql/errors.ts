/**
 * Turns a failed operation into what a form shows: a message next to each field it is about,
 * and one message for the form as a whole.
 */
import type { CombinedError } from '@urql/core'

/** Errors of one form submission. */
export interface FormErrors {
  /** Field name → message. */
  fields: Record<string, string>
  /** A message about the whole form; empty when every error has a field. */
  form: string
}

export const NO_ERRORS: FormErrors = { fields: {}, form: '' }

/** Words that point a BAD_USER_INPUT message at a field, when the error does not say. */
const FIELD_WORDS: Record<string, string[]> = {
  email: ['email'],
  username: ['username'],
  displayName: ['display name'],
  password: ['password'],
  newPassword: ['password'],
  code: ['code'],
  name: ['name'],
}

/**
 * Errors for a form with `fields`. A BAD_USER_INPUT error goes to its `extensions.field` when
 * the server names one; otherwise to the field its message names first ("This password is
 * built from your username" is about the password); otherwise, in a one-field form, to that
 * field. Everything else is about the form.
 */
export function toFormErrors(error: CombinedError | undefined, fields: readonly string[]): FormErrors {
  if (!error) return NO_ERRORS
  const result: FormErrors = { fields: {}, form: '' }
  const formMessages: string[] = []
  if (error.networkError) {
    formMessages.push('The server cannot be reached. Check your connection and try again.')
  }
  for (const graphQLError of error.graphQLErrors) {
    const message = graphQLError.message
    const field = graphQLError.extensions?.code === 'BAD_USER_INPUT' ? fieldOf(graphQLError.extensions, message, fields) : null
    if (field && !result.fields[field]) result.fields[field] = message
    else formMessages.push(message)
  }
  result.form = formMessages.join(' ')
  return result
}

function fieldOf(extensions: Record<string, unknown>, message: string, fields: readonly string[]): string | null {
  const named = extensions.field
  if (typeof named === 'string' && fields.includes(named)) return named
  const lower = message.toLowerCase()
  let best: { field: string; at: number } | null = null
  for (const field of fields) {
    for (const word of FIELD_WORDS[field] ?? [field.toLowerCase()]) {
      const at = lower.search(new RegExp(`\\b${word}\\b`))
      if (at >= 0 && (best === null || at < best.at)) best = { field, at }
    }
  }
  if (best) return best.field
  return fields.length === 1 ? fields[0] : null
}

/** One sentence for an error outside a form (a failed like, a failed load). */
export function errorMessage(error: CombinedError | undefined): string {
  if (!error) return ''
  if (error.graphQLErrors.length > 0) return error.graphQLErrors.map((e) => e.message).join(' ')
  return 'The server cannot be reached. Check your connection and try again.'
}
