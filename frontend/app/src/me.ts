/** The signed-in user, loaded once per token and shared with every screen. */
import { createContext, useContext } from 'react'
import type { MeQuery } from './gql/graphql'
import { graphql } from './gql'

export const MeDocument = graphql(`
  query Me {
    me {
      ...UserBits
      email
      emailVerified
    }
  }
`)

export type Me = NonNullable<MeQuery['me']>

export const MeContext = createContext<Me | null>(null)

export function useMe(): Me {
  const me = useContext(MeContext)
  if (!me) throw new Error('useMe outside a signed-in screen')
  return me
}
