import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { RuleError } from '../../src/rules/rule-issue'

const good: Rule = { name: 'api', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1s' }

/** The message thrown for one bad rule placed second, after a good one. */
function errorFor(bad: Record<string, unknown>): string {
  try {
    createLimiter({ rules: [good, { ...good, name: 'bad', ...bad } as Rule] })
  } catch (error) {
    expect(error).toBeInstanceOf(RuleError)
    return (error as Error).message
  }
  throw new Error(`rule ${JSON.stringify(bad)} was accepted`)
}

const values = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `v${from + i}`)

describe('overrides validation', () => {
  it.each([
    ['not a list', { overrides: { values: ['a'], limit: 1 } }, 'overrides: must be a list of overrides'],
    [
      'an override that is not a mapping',
      { overrides: ['a'] },
      'overrides[0]: must be a mapping with values',
    ],
    ['no values', { overrides: [{ limit: 5 }] }, 'overrides[0].values: is required'],
    ['an empty values list', { overrides: [{ values: [], limit: 5 }] }, 'overrides[0].values: must list'],
    [
      'an empty value',
      { overrides: [{ values: ['a', ''], limit: 5 }] },
      'overrides[0].values[1]: must be a value or glob of 1 to 256 characters',
    ],
    [
      'a value longer than 256 characters',
      { overrides: [{ values: ['x'.repeat(257)], limit: 5 }] },
      'overrides[0].values[0]: must be a value or glob of 1 to 256 characters',
    ],
    [
      'a value that is not a string',
      { overrides: [{ values: [42], limit: 5 }] },
      'overrides[0].values[0]: must be a value or glob',
    ],
    [
      'a misspelled field, with a hint',
      { overrides: [{ values: ['a'], limt: 5 }] },
      'overrides[0].limt: unknown field "limt"; did you mean "limit"?',
    ],
    [
      'an override that changes nothing',
      { overrides: [{ values: ['a'] }] },
      'overrides[0]: must set limit, window or burst, or unlimited: true',
    ],
    [
      'unlimited: false alone',
      { overrides: [{ values: ['a'], unlimited: false }] },
      'overrides[0]: must set limit, window or burst, or unlimited: true',
    ],
    [
      'unlimited with a limit',
      { overrides: [{ values: ['a'], unlimited: true, limit: 5 }] },
      'overrides[0].limit: cannot go with unlimited: true',
    ],
    [
      'unlimited with a window',
      { overrides: [{ values: ['a'], unlimited: true, window: '1m' }] },
      'overrides[0].window: cannot go with unlimited: true',
    ],
    ['limit 0', { overrides: [{ values: ['a'], limit: 0 }] }, 'overrides[0].limit: must be a whole number'],
    [
      'a malformed window',
      { overrides: [{ values: ['a'], window: 'soon' }] },
      'overrides[0].window: must be a duration',
    ],
    [
      'burst on a fixed window',
      { overrides: [{ values: ['a'], burst: 5 }] },
      'overrides[0].burst: is not valid for fixed-window; only token-bucket and leaky-bucket take a burst',
    ],
    [
      "the algorithm's own check, on the override's parameters",
      { algorithm: 'token-bucket', overrides: [{ values: ['a'], burst: 0 }] },
      'overrides[0].burst: must be at least 1 for token-bucket',
    ],
    [
      'a global rule',
      { dimension: 'global', overrides: [{ values: ['a'], limit: 5 }] },
      'overrides: apply to the values of one dimension; a global rule has none',
    ],
    [
      'a composite rule',
      { dimension: ['account', 'device'], overrides: [{ values: ['a'], limit: 5 }] },
      'overrides: apply to single-dimension rules only',
    ],
    [
      'more than 64 overrides',
      { overrides: Array.from({ length: 65 }, (_, i) => ({ values: [`v${i}`], limit: 5 })) },
      'overrides: must list at most 64 overrides',
    ],
    [
      'more than 1,000 values in one override',
      { overrides: [{ values: values(1001), limit: 5 }] },
      'overrides[0].values: must list at most 1000 values',
    ],
    [
      'more than 1,000 values over all overrides of a rule',
      { overrides: [0, 1, 2].map((i) => ({ values: values(400, i * 400), limit: 5 })) },
      'overrides[2].values: brings the values of all overrides of this rule to more than 1000',
    ],
  ])('rejects %s', (_case, bad, message) => {
    expect(errorFor(bad)).toContain(`rules[1] "bad": ${message}`)
  })

  it('reports every problem of every override at once', () => {
    const message = errorFor({
      overrides: [{ values: ['a'] }, { values: ['b'], unlimited: true, burst: 1 }],
    })
    expect(message.split('\n')).toEqual([
      'rules[1] "bad": overrides[0]: must set limit, window or burst, or unlimited: true',
      'rules[1] "bad": overrides[1].burst: cannot go with unlimited: true',
    ])
  })

  it('accepts the largest overrides the bounds allow', async () => {
    const limiter = createLimiter({
      rules: [
        {
          ...good,
          overrides: Array.from({ length: 64 }, (_, i) => ({
            values: i === 0 ? values(937, 64) : [`o${i}-${'x'.repeat(250)}`],
            limit: i + 1,
          })),
        },
      ],
    })
    expect((await limiter.check({ account: 'v500' })).limit).toBe(1)
    expect((await limiter.check({ account: `o63-${'x'.repeat(250)}` })).limit).toBe(64)
    await limiter.close()
  })
})
