import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { RuleError } from '../../src/rules/rule-issue'

const good: Rule = { name: 'api', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1s' }

/** The error thrown for one bad rule placed second, after a good one. */
function errorFor(bad: Record<string, unknown>): RuleError {
  try {
    createLimiter({ rules: [good, { ...good, name: 'bad', ...bad } as Rule] })
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    expect(error).toBeInstanceOf(RuleError)
    return error as RuleError
  }
  throw new Error(`rule ${JSON.stringify(bad)} was accepted`)
}

describe('rule validation', () => {
  it.each([
    [
      'an unknown field, with a did-you-mean hint',
      { limt: 5 },
      /rules\[1\] "bad": limt: unknown field "limt"; did you mean "limit"\?/,
    ],
    [
      'an unknown match field',
      { match: { paths: '/a' } },
      /rules\[1\] "bad": match\.paths: unknown field "paths"; did you mean "path"\?/,
    ],
    [
      'a malformed window',
      { window: '10 seconds' },
      /rules\[1\] "bad": window: must be a duration such as 500ms, 1s/,
    ],
    ['a negative window', { window: -1000 }, /rules\[1\] "bad": window: /],
    ['a fractional ms window', { window: 1.5 }, /rules\[1\] "bad": window: /],
    ['a zero window written as a duration', { window: '0s' }, /rules\[1\] "bad": window: /],
    ['a zero window in ms', { window: '0ms' }, /rules\[1\] "bad": window: /],
    ['a window too long to be a number', { window: `${'9'.repeat(400)}d` }, /rules\[1\] "bad": window: /],
    ['limit 0', { limit: 0 }, /rules\[1\] "bad": limit: must be a whole number of requests, at least 1/],
    ['a fractional limit', { limit: 2.5 }, /rules\[1\] "bad": limit: must be a whole number/],
    ['a limit given as a string', { limit: '10' }, /rules\[1\] "bad": limit: must be a whole number/],
    ['burst on a fixed window', { burst: 5 }, /rules\[1\] "bad": burst: is not valid for fixed-window/],
    [
      'burst on a sliding window',
      { algorithm: 'sliding-window', burst: 5 },
      /rules\[1\] "bad": burst: is not valid for sliding-window/,
    ],
    [
      'burst 0 on a token bucket',
      { algorithm: 'token-bucket', burst: 0 },
      /rules\[1\] "bad": burst: must be at least 1/,
    ],
    [
      'a negative burst',
      { algorithm: 'leaky-bucket', burst: -1 },
      /rules\[1\] "bad": burst: must be a whole number/,
    ],
    [
      'an unknown algorithm, with a hint',
      { algorithm: 'token-bucktet' },
      /rules\[1\] "bad": algorithm: unknown algorithm "token-bucktet"; did you mean "token-bucket"\?/,
    ],
    [
      'an unknown dimension, with a hint',
      { dimension: 'devise' },
      /rules\[1\] "bad": dimension: unknown dimension "devise"; did you mean "device"\?/,
    ],
    [
      'an unknown dimension inside a composite',
      { dimension: ['account', 'acount'] },
      /rules\[1\] "bad": dimension: unknown dimension "acount"; did you mean "account"\?/,
    ],
    [
      'a bad mode, with a hint',
      { algorithm: 'leaky-bucket', mode: 'polise' },
      /rules\[1\] "bad": mode: must be one of shape, police; did you mean "police"\?/,
    ],
    [
      'a mode on an algorithm without modes',
      { mode: 'police' },
      /rules\[1\] "bad": mode: is not valid for fixed-window/,
    ],
    ['shadow that is not a boolean', { shadow: 'yes' }, /rules\[1\] "bad": shadow: must be true or false/],
    [
      'match.methods that is not a list',
      { match: { methods: 'POST' } },
      /rules\[1\] "bad": match\.methods: must be a list/,
    ],
    [
      'a path glob longer than 256 characters',
      { match: { path: `/${'a'.repeat(256)}` } },
      /rules\[1\] "bad": match\.path: must be a path glob of at most 256 characters/,
    ],
    [
      'more than 32 path globs',
      { match: { path: Array.from({ length: 33 }, (_, i) => `/api/v${i}/**`) } },
      /rules\[1\] "bad": match\.path: must list at most 32 path globs/,
    ],
    ['a missing field', { window: undefined }, /rules\[1\] "bad": window: (is required|must be)/],
  ])('rejects %s with a TypeError naming the rule and the field', (_label, bad, message) => {
    expect(errorFor(bad).message).toMatch(message)
  })

  it('rejects duplicate names, naming both places', () => {
    expect(() => createLimiter({ rules: [good, { ...good }] })).toThrow(
      /rules\[1\] "api": name: duplicate rule name "api" \(also rules\[0\]\)/,
    )
  })

  it('reports every problem of a rule set at once', () => {
    try {
      createLimiter({
        rules: [{ ...good, limit: 0 }, { ...good, name: 'two', algorithm: 'nope', window: 'x' } as Rule],
      })
      expect.unreachable()
    } catch (error) {
      const { issues, message } = error as RuleError
      expect(issues.length).toBeGreaterThanOrEqual(2)
      expect(message).toMatch(/rules\[0\] "api": limit/)
      expect(message).toMatch(/rules\[1\] "two": window/)
    }
  })

  it('rejects a rule list that is not a list, and a rule that is not an object', () => {
    expect(() => createLimiter({ rules: {} as unknown as Rule[] })).toThrow(TypeError)
    expect(() => createLimiter({ rules: ['api'] as unknown as Rule[] })).toThrow(
      /rules\[0\]: must be an object/,
    )
  })
})
