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
