import { CombinedError } from '@urql/core'
import { GraphQLError } from 'graphql'
import { describe, expect, it } from 'vitest'
import { errorMessage, toFormErrors } from './errors'

const bad = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extensions } })

const register = ['email', 'username', 'displayName', 'password']

describe('toFormErrors', () => {
  it('uses extensions.field when the server names the field', () => {
    const error = new CombinedError({ graphQLErrors: [bad('Taken.', { field: 'username' })] })
    expect(toFormErrors(error, register)).toEqual({ fields: { username: 'Taken.' }, form: '' })
  })

  it.each([
    ['An account with this email already exists. Sign in, or reset its password.', 'email'],
    ['That username is taken. Choose another one.', 'username'],
    ['A username has 3 to 32 characters; "ab" has 2.', 'username'],
    ['This password is built from your username, which others know or can guess.', 'password'],
    ['A display name has at most 64 characters.', 'displayName'],
  ])('puts "%s" next to %s', (message, field) => {
    const error = new CombinedError({ graphQLErrors: [bad(message)] })
    expect(toFormErrors(error, register).fields).toEqual({ [field]: message })
  })

  it('gives a one-field form every input error', () => {
    const error = new CombinedError({ graphQLErrors: [bad('A message cannot be empty.')] })
    expect(toFormErrors(error, ['body']).fields).toEqual({ body: 'A message cannot be empty.' })
  })

  it('keeps other codes at form level', () => {
    const error = new CombinedError({
      graphQLErrors: [new GraphQLError('Wrong email or password.', { extensions: { code: 'UNAUTHENTICATED' } })],
    })
    expect(toFormErrors(error, ['email', 'password'])).toEqual({ fields: {}, form: 'Wrong email or password.' })
  })

  it('says when the server cannot be reached', () => {
    const error = new CombinedError({ networkError: new Error('Failed to fetch') })
    expect(toFormErrors(error, ['email']).form).toMatch(/cannot be reached/)
    expect(errorMessage(error)).toMatch(/cannot be reached/)
  })
})
