import { describe, expect, it } from 'vitest'
import { createLimiter, type LimiterOptions } from '../src/limiter'
import type { Rule } from '../src/rules/rule'
import type { Subject } from '../src/types'
import { createFakeClock } from './support/fake-clock'

const good: Rule = { name: 'api', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1s' }

describe('limiter options', () => {
  const make = (options: Record<string, unknown>) => () => createLimiter(options as unknown as LimiterOptions)

  it('rejects an unknown option with a hint', () => {
    expect(make({ rules: [good], stor: { type: 'memory' } })).toThrow(
      new TypeError('createLimiter: unknown option "stor"; did you mean "store"?'),
    )
  })

  it('requires rules', () => {
    expect(make({})).toThrow(/rules is required/)
  })

  it.each([[5], ['now'], [{}]])('rejects clock %j', (clock) => {
    expect(make({ rules: [good], clock })).toThrow(/clock must be a function/)
  })

  it('rejects a store type it does not know, and a bad maxKeys', () => {
    expect(make({ rules: [good], store: { type: 'mongo' } })).toThrow(/store\.type/)
    expect(make({ rules: [good], store: { type: 'memory', maxKeys: 0 } })).toThrow(/store\.maxKeys/)
    expect(make({ rules: [good], store: { type: 'memory', maxKeys: 1.5 } })).toThrow(/store\.maxKeys/)
  })

  it('rejects a misspelled store option rather than silently using the default', () => {
    expect(make({ rules: [good], store: { type: 'memory', maxkeys: 10 } })).toThrow(/maxkeys/)
  })

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], ['2'], [{}]])(
    'check rejects cost %j with a TypeError naming cost, and consumes nothing',
    async (cost) => {
      const clock = createFakeClock()
      const limiter = createLimiter({ rules: [{ ...good, limit: 1 }], clock })
      await expect(limiter.check({ account: 'a' }, { cost: cost as number })).rejects.toThrow(/cost/)
      expect((await limiter.check({ account: 'a' })).allowed).toBe(true)
    },
  )

  it('check rejects a subject field of the wrong type, naming it', async () => {
    const limiter = createLimiter({ rules: [good], clock: createFakeClock() })
    await expect(limiter.check({ account: {} as unknown as string })).rejects.toThrow(/subject\.account/)
    await expect(limiter.check(null as unknown as Subject)).rejects.toThrow(TypeError)
  })

  it('a closed limiter rejects further checks', async () => {
    const limiter = createLimiter({ rules: [good], clock: createFakeClock() })
    await limiter.close()
    await expect(limiter.check({ account: 'a' })).rejects.toThrow(/closed/)
  })
})

const rules = [{ name: 'r', dimension: 'global', algorithm: 'fixed-window', limit: 1, window: '1s' }]

function errorOf(options: Record<string, unknown>): string | undefined {
  try {
    createLimiter(options as unknown as LimiterOptions)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

// createLimiter reads its options with one schema (src/limiter-options.ts): a wrong value is a
// TypeError that names the option, says what it must be and shows what was given.
describe('createLimiter options', () => {
  it.each([
    [
      { rules, maxConfigBytes: 1.5 },
      'createLimiter: maxConfigBytes must be a whole number of bytes, at least 1 (got 1.5)',
    ],
    [
      { rules, logger: { info() {} } },
      'createLimiter: logger must have a warn(message) method (got an object)',
    ],
    [
      { rules, clock: 'now' },
      'createLimiter: clock must be a function returning epoch milliseconds (got "now")',
    ],
    [{ config: 'diana.yaml', watch: 'yes' }, 'createLimiter: watch must be true or false (got "yes")'],
    [{ config: '' }, 'createLimiter: config must be the path of a YAML file such as "diana.yaml" (got "")'],
    [
      { rules, sources: 'nacos' },
      'createLimiter: sources must be a list of ConfigSource (read, convert, listen, close) (got "nacos")',
    ],
    [
      { rules, name: ' api' },
      'createLimiter: name must be 1 to 128 printable characters without leading or trailing spaces, such as "api" (got " api")',
    ],
    [{ rules, nmae: 'api' }, 'createLimiter: unknown option "nmae"; did you mean "name"?'],
  ])('%j', (options, message) => {
    expect(errorOf(options)).toBe(message)
  })

  it('reports an unknown option before a bad value, as a typo usually explains the rest', () => {
    expect(errorOf({ rules, clock: 5, maxConfigByte: 10 })).toBe(
      'createLimiter: unknown option "maxConfigByte"; did you mean "maxConfigBytes"?',
    )
  })

  it('takes every option it documents', () => {
    const limiter = createLimiter({
      rules: rules as LimiterOptions['rules'],
      store: { type: 'memory', maxKeys: 10 },
      clock: () => 0,
      logger: { warn() {} },
      maxConfigBytes: 1024,
      sources: [],
      name: 'api',
    })
    expect(limiter.name).toBe('api')
    return limiter.close()
  })
})
