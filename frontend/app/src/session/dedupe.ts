/**
 * Merging by id. A resubscription replays what the client may already hold (the unread
 * backlog of `notifications`, a room's messages after the last cursor, graphql-ws's own
 * retries); merging by id is what makes "nothing shown twice" true.
 */

/** Anything with a stable id. */
export interface WithId {
  id: string
}

/**
 * `list` followed by the items of `incoming` it does not hold yet, in order; an item it
 * already holds is replaced in place by the incoming version (fresher fields). Returns the
 * same array when nothing changed, so React skips the render.
 */
export function appendUnique<T extends WithId>(list: readonly T[], incoming: readonly T[]): T[] {
  if (incoming.length === 0) return list as T[]
  const index = new Map(list.map((item, i) => [item.id, i]))
  let result: T[] | null = null
  for (const item of incoming) {
    const at = index.get(item.id)
    result ??= list.slice()
    if (at === undefined) {
      index.set(item.id, result.length)
      result.push(item)
    } else {
      result[at] = item
    }
  }
  return result ?? (list as T[])
}

/** `incoming` items not already in `list`, followed by `list` (for "load earlier"). */
export function prependUnique<T extends WithId>(list: readonly T[], incoming: readonly T[]): T[] {
  const held = new Set(list.map((item) => item.id))
  const fresh = incoming.filter((item, i) => !held.has(item.id) && incoming.findIndex((x) => x.id === item.id) === i)
  return fresh.length === 0 ? (list as T[]) : [...fresh, ...list]
}

/**
 * Merges notifications by id and sorts them newest first (ties broken by id, so the order is
 * stable whichever way they arrived: a page of the list, the backlog, live).
 */
export function mergeNewestFirst<T extends WithId & { createdAt: string }>(
  list: readonly T[],
  incoming: readonly T[],
): T[] {
  const merged = appendUnique(list, incoming)
  if (merged === list) return merged
  return merged.slice().sort((a, b) => {
    // Compared as instants: RFC 3339 strings with and without fractions do not sort as text.
    const delta = Date.parse(b.createdAt) - Date.parse(a.createdAt)
    if (delta !== 0) return delta
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0
  })
}
