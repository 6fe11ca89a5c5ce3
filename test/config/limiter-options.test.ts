import { describe, expect, it } from 'vitest'
import { createLimiter, type LimiterOptions } from '../../src/limiter'

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
