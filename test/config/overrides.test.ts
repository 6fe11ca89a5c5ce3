import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load-config'
import { parseConfig } from '../../src/config/parse-config'
import { validate } from '../../src/config/validate-command'
import { createLimiter, type Limiter } from '../../src/limiter'
import { fakeClock, nextEvent, recordingLogger, scratchConfigFile, writeAtomically } from './config-helpers'

const file = (overrides: string) => `version: 1
rules:
  - name: account
    dimension: account
    algorithm: token-bucket
    limit: 10
    window: 1m
    overrides:
${overrides}`

function errorLines(text: string): string[] {
  const result = parseConfig(text, 'diana.yaml')
  if (result.ok) throw new Error('the file was accepted')
  return result.error.lines
}

describe('overrides in diana.yaml', () => {
  it('reads overrides with exact values, globs, their own parameters and unlimited', () => {
    const result = parseConfig(
      file(`      - { values: [acct-42, "partner-*"], limit: 100, window: 10s, burst: 50 }
      - values: [10.0.0.7]
        unlimited: true`),
      'diana.yaml',
    )
    expect(result.ok && result.value.rules[0]?.overrides).toEqual([
      { values: ['acct-42', 'partner-*'], limit: 100, window: '10s', burst: 50 },
      { values: ['10.0.0.7'], unlimited: true },
    ])
  })

  it.each([
    [
      'a misspelled field',
      '      - { values: [a], limt: 5 }',
      'diana.yaml:9:24: rules[0].overrides[0].limt: unknown field "limt"; did you mean "limit"?',
    ],
    [
      'a bad limit',
      '      - { values: [a], limit: -1 }',
      'diana.yaml:9:31: rules[0].overrides[0].limit: must be a whole number of requests, at least 1',
    ],
    [
      'a missing values list',
      '      - { limit: 5 }',
      'diana.yaml:9:9: rules[0].overrides[0].values: is required',
    ],
    [
      'an empty value',
      '      - { values: [a, ""], limit: 5 }',
      'diana.yaml:9:23: rules[0].overrides[0].values[1]: must be a value or glob of 1 to 256 characters',
    ],
    [
      'unlimited with a limit',
      '      - { values: [a], unlimited: true, limit: 5 }',
      'diana.yaml:9:48: rules[0].overrides[0].limit: cannot go with unlimited: true',
    ],
    [
      'an override that sets nothing',
      '      - { values: [a] }\n      - { values: [b], limit: 1 }',
      'diana.yaml:9:9: rules[0].overrides[0]: must set limit, window or burst, or unlimited: true',
    ],
    [
      "the algorithm's check of the override's parameters",
      '      - { values: [a], burst: 0 }',
      'diana.yaml:9:31: rules[0].overrides[0].burst: must be at least 1 for token-bucket',
    ],
  ])('reports %s at its line and column', (_case, overrides, line) => {
    expect(errorLines(file(overrides))).toEqual([line])
  })

  it('rejects overrides on a global rule at the overrides key', () => {
    const text = `version: 1
rules:
  - { name: all, dimension: global, algorithm: fixed-window, limit: 5, window: 1s, overrides: [{ values: [a], limit: 9 }] }
`
    expect(errorLines(text)).toEqual([
      'diana.yaml:3:95: rules[0].overrides: apply to the values of one dimension; a global rule has none',
    ])
  })
})

describe('the overrides example (test/config/fixtures/overrides.yaml)', () => {
  const example = 'test/config/fixtures/overrides.yaml'

  it('is valid, and diana validate summarises its overrides', async () => {
    let out = ''
    const write = (chunk: string) => {
      out += chunk
      return true
    }
    expect(await validate([example], { write }, { write })).toBe(0)
    expect(out.trimEnd().split('\n')).toEqual([
      'account: sliding-window per account, 100 per 1m, 2 overrides for 4 values',
      'per-device: token-bucket per device, 20 per 1s, burst 40, 1 override for 2 values',
    ])
  })

  it('limits as it says', async () => {
    const limiter = createLimiter({ rules: loadConfig(example).rules, clock: fakeClock().now })
    expect((await limiter.check({ account: 'acct-vip-2' })).limit).toBe(1000)
    expect((await limiter.check({ account: 'partner-acme' })).limit).toBe(1000)
    expect((await limiter.check({ account: 'acct-batch' })).limit).toBe(5000)
    expect((await limiter.check({ account: 'someone' })).limit).toBe(100)
    expect((await limiter.check({ device: '10.1.2.3' })).rule).toBeUndefined()
    expect((await limiter.check({ device: '10.2.2.3' })).limit).toBe(20)
    await limiter.close()
  })
})

describe('overrides and a watched file', () => {
  const scratch = scratchConfigFile()
  const yaml = (overrides: string) => `version: 1
rules:
  - name: account
    dimension: account
    algorithm: fixed-window
    limit: 3
    window: 1m
    overrides:
${overrides}
`

  async function remaining(limiter: Limiter, account: string): Promise<[number, number | string]> {
    const decision = await limiter.check({ account })
    return [decision.limit, decision.allowed ? decision.remaining : 'denied']
  }

  it('an edit keeps the counters of values whose definition did not change', async () => {
    writeAtomically(scratch.file, yaml('      - { values: [vip-1, vip-2], limit: 10 }'))
    const clock = fakeClock()
    const limiter = createLimiter({ config: scratch.file, clock: clock.now, logger: recordingLogger() })
    scratch.keep(limiter)
    await nextEvent(limiter, 'config')
    for (const account of ['vip-1', 'vip-2', 'bob']) await limiter.check({ account })

    const applied = nextEvent(limiter, 'config')
    writeAtomically(
      scratch.file,
      yaml('      - { values: [vip-1], limit: 10 }\n      - { values: [vip-2], limit: 20 }'),
    )
    expect((await applied).version).toBe(2)
    expect(await remaining(limiter, 'vip-1')).toEqual([10, 8])
    expect(await remaining(limiter, 'bob')).toEqual([3, 1])
    expect(await remaining(limiter, 'vip-2')).toEqual([20, 19])
  })

  it('an invalid override is rejected with its position, and the counters in force stay', async () => {
    writeAtomically(scratch.file, yaml('      - { values: [vip-1], limit: 10 }'))
    const limiter = createLimiter({ config: scratch.file, clock: fakeClock().now, logger: recordingLogger() })
    scratch.keep(limiter)
    await nextEvent(limiter, 'config')
    await limiter.check({ account: 'vip-1' })

    const rejected = nextEvent(limiter, 'configError')
    writeAtomically(scratch.file, yaml('      - { values: [vip-1], limit: 10, unlimited: true }'))
    expect(String((await rejected).message)).toBe(
      `${scratch.file}:9:35: rules[0].overrides[0].limit: cannot go with unlimited: true`,
    )
    expect(await remaining(limiter, 'vip-1')).toEqual([10, 8])
  })
})
