import { describe, expect, it } from 'vitest'
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay } from './backoff'

describe('backoffDelay', () => {
  it('grows exponentially from the base', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, () => 1)
    expect(ceiling(0)).toBe(BACKOFF_BASE_MS)
    expect(ceiling(1)).toBe(2 * BACKOFF_BASE_MS)
    expect(ceiling(2)).toBe(4 * BACKOFF_BASE_MS)
  })

  it('is bounded by the cap, for any attempt and any random value', () => {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      for (const r of [0, 0.25, 0.5, 0.999, 1]) {
        const delay = backoffDelay(attempt, () => r)
        expect(delay).toBeGreaterThan(0)
        expect(delay).toBeLessThanOrEqual(BACKOFF_CAP_MS)
      }
    }
    expect(backoffDelay(Number.MAX_SAFE_INTEGER)).toBeLessThanOrEqual(BACKOFF_CAP_MS)
    expect(backoffDelay(-5, () => 1)).toBe(BACKOFF_BASE_MS)
  })

  it('is jittered between half and all of its ceiling', () => {
    const low = backoffDelay(3, () => 0)
    const high = backoffDelay(3, () => 1)
    expect(low).toBe(4_000)
    expect(high).toBe(8_000)
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3)))
    expect(seen.size).toBeGreaterThan(10)
    for (const delay of seen) expect(delay >= low && delay <= high).toBe(true)
  })

  it('keeps a floor at the cap so a crowd never returns at once', () => {
    expect(backoffDelay(20, () => 0)).toBe(BACKOFF_CAP_MS / 2)
  })
})
