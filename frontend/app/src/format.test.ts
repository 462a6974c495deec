import { describe, expect, it } from 'vitest'
import { describeUserAgent, listNames, plural } from './format'

describe('format', () => {
  it('plural', () => {
    expect(plural(1, 'like')).toBe('1 like')
    expect(plural(0, 'like')).toBe('0 likes')
  })

  it('listNames', () => {
    expect(listNames(['a'])).toBe('a')
    expect(listNames(['a', 'b'])).toBe('a and b')
    expect(listNames(['a', 'b', 'c'])).toBe('a, b and c')
    expect(listNames(['a', 'b'], 5)).toBe('a, b and 3 others')
  })

  it.each([
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0', 'Firefox on Windows'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile Safari/604.1', 'Safari on iOS'],
    ['curl/8.5.0', 'A program'],
    [null, 'Unknown device'],
  ])('describeUserAgent(%s)', (ua, expected) => {
    expect(describeUserAgent(ua)).toBe(expected)
  })
})
