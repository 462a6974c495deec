import { describe, expect, it } from 'vitest'
import { appendUnique, mergeNewestFirst, prependUnique } from './dedupe'

const m = (id: string, body = id) => ({ id, body })

describe('appendUnique', () => {
  it('appends only what is new, keeping order', () => {
    expect(appendUnique([m('1'), m('2')], [m('2'), m('3'), m('3')]).map((x) => x.id)).toEqual(['1', '2', '3'])
  })

  it('replaces a held item in place with the fresher one', () => {
    expect(appendUnique([m('1', 'old'), m('2')], [m('1', 'new')])).toEqual([m('1', 'new'), m('2')])
  })

  it('returns the same array when nothing arrives', () => {
    const list = [m('1')]
    expect(appendUnique(list, [])).toBe(list)
  })

  it('shows a replayed room history once (resume after a pause)', () => {
    const before = [m('a'), m('b'), m('c')]
    const replay = [m('b'), m('c'), m('d')]
    expect(appendUnique(before, replay).map((x) => x.id)).toEqual(['a', 'b', 'c', 'd'])
  })
})

describe('prependUnique', () => {
  it('puts older messages first without duplicates', () => {
    expect(prependUnique([m('3'), m('4')], [m('1'), m('2'), m('3')]).map((x) => x.id)).toEqual(['1', '2', '3', '4'])
  })

  it('returns the same array when everything is held', () => {
    const list = [m('1')]
    expect(prependUnique(list, [m('1')])).toBe(list)
  })
})

describe('mergeNewestFirst', () => {
  const n = (id: string, createdAt: string, read = false) => ({ id, createdAt, read })

  it('shows a notification once when the backlog replays it after a pause', () => {
    const held = [n('2', '2026-11-23T10:00:02Z'), n('1', '2026-11-23T10:00:01Z')]
    const backlog = [n('1', '2026-11-23T10:00:01Z'), n('2', '2026-11-23T10:00:02Z'), n('3', '2026-11-23T10:00:03Z')]
    expect(mergeNewestFirst(held, backlog).map((x) => x.id)).toEqual(['3', '2', '1'])
  })

  it('sorts by instant, whatever the fraction digits', () => {
    const list = mergeNewestFirst([], [n('a', '2026-11-23T10:00:00Z'), n('b', '2026-11-23T10:00:00.500Z')])
    expect(list.map((x) => x.id)).toEqual(['b', 'a'])
  })

  it('keeps read flags from the newest copy', () => {
    const list = mergeNewestFirst([n('1', '2026-11-23T10:00:01Z', false)], [n('1', '2026-11-23T10:00:01Z', true)])
    expect(list).toEqual([n('1', '2026-11-23T10:00:01Z', true)])
  })
})
