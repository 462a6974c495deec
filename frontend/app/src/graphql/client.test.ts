import { describe, expect, it } from 'vitest'
import { withLiveVariables } from './client'

describe('withLiveVariables', () => {
  it('reads the variables again at every serialisation', () => {
    let after = 'c1'
    const payload = withLiveVariables({ query: 'q', variables: { roomId: 'r', after: null } }, () => ({ after }))
    expect(JSON.parse(JSON.stringify(payload))).toEqual({ query: 'q', variables: { roomId: 'r', after: 'c1' } })
    after = 'c2'
    expect(JSON.parse(JSON.stringify(payload)).variables).toEqual({ roomId: 'r', after: 'c2' })
  })

  it('leaves a payload without live variables alone', () => {
    const request = { query: 'q' }
    expect(withLiveVariables(request, undefined)).toBe(request)
  })
})
