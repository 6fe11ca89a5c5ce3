import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import { createLimiter, type Limiter } from '../../src/limiter'
import { fakeClock, nextEvent, recordingLogger, scratchConfigFile, writeAtomically } from './config-helpers'

const yaml = (accountLimit: number, deviceLimit: number, extra = '') => `version: 1
response: { status: 503 }
rules:
  - { name: account, dimension: account, algorithm: fixed-window, limit: ${accountLimit}, window: 1m }
  - { name: device, dimension: device, algorithm: fixed-window, limit: ${deviceLimit}, window: 1m }
${extra}`

const scratch = scratchConfigFile()

function limiterFor(options: { watch?: boolean } = {}) {
  const clock = fakeClock()
  const logger = recordingLogger()
  const limiter = createLimiter({ config: scratch.file, clock: clock.now, logger, ...options })
  scratch.keep(limiter)
  return { limiter, clock, logger }
}

/** Remaining quota per check, for `count` checks of the same subject. */
async function spend(limiter: Limiter, subject: { account?: string; device?: string }, count: number) {
  const remaining: (number | string)[] = []
  for (let i = 0; i < count; i++) {
    const decision = await limiter.check(subject)
    remaining.push(decision.allowed ? decision.remaining : 'denied')
  }
  return remaining
}

describe('createLimiter({ config })', () => {
  it('reads the file at creation and returns synchronously with its rules in force', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter } = limiterFor({ watch: false })
    expect(limiter.rules.map((rule) => [rule.name, rule.limit])).toEqual([
      ['account', 3],
      ['device', 10],
    ])
    expect(limiter.config?.response).toEqual({ status: 503 })
    expect(await spend(limiter, { account: 'a' }, 4)).toEqual([2, 1, 0, 'denied'])
  })

  it('reports the first rule set with a config event carrying version and hash', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter } = limiterFor({ watch: false })
    const event = await nextEvent(limiter, 'config')
    expect(event.version).toBe(1)
    expect(event.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(event.source).toBe(scratch.file)
    expect(event.rules).toEqual(limiter.rules)
  })

  it('throws a ConfigError with FILE:LINE:COL lines for an invalid file', () => {
    writeAtomically(
      scratch.file,
      yaml(3, 10).replace('window: 1m }\n  - { name: device', 'windw: 1m }\n  - { name: device'),
    )
    expect(() => createLimiter({ config: scratch.file })).toThrow(ConfigError)
    expect(() => createLimiter({ config: scratch.file })).toThrow(
      `${scratch.file}:4:77: rules[0].windw: unknown field "windw"; did you mean "window"?`,
    )
  })

  it('rejects options that cannot go together, naming them', () => {
    writeAtomically(scratch.file, yaml(3, 10))
    expect(() => createLimiter({ config: scratch.file, rules: [] })).toThrow(
      'createLimiter: pass either rules or config (the rules come from the file), not both',
    )
    expect(() => createLimiter({ rules: [], watch: true })).toThrow(
      'createLimiter: watch applies to a config file; pass config as well',
    )
    expect(() => createLimiter({ config: 42 as unknown as string })).toThrow(
      'createLimiter: config must be the path of a YAML file such as "diana.yaml"',
    )
  })
})

describe('hot reload', () => {
  it('applies a valid edit and keeps the counters of rules that did not change', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter } = limiterFor()
    await nextEvent(limiter, 'config')
    expect(await spend(limiter, { account: 'a' }, 2)).toEqual([2, 1])
    expect(await spend(limiter, { device: 'd' }, 2)).toEqual([9, 8])

    const applied = nextEvent(limiter, 'config')
    const started = performance.now()
    writeAtomically(scratch.file, yaml(3, 5))
    const event = await applied
    // The contract asks for 1 s; the bound here leaves room for a busy machine.
    expect(performance.now() - started).toBeLessThan(2000)
    expect(event.version).toBe(2)
    expect(event.source).toBe(scratch.file)
    expect(limiter.rules.map((rule) => [rule.name, rule.limit])).toEqual([
      ['account', 3],
      ['device', 5],
    ])
    // "account" is unchanged: its count carries on. "device" is a new definition: fresh count.
    expect(await spend(limiter, { account: 'a' }, 2)).toEqual([0, 'denied'])
    expect(await spend(limiter, { device: 'd' }, 1)).toEqual([4])
  })

  it('rejects an invalid edit as a whole, reports it once, and keeps the rules and counts in force', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter, logger } = limiterFor()
    const first = await nextEvent(limiter, 'config')
    expect(await spend(limiter, { account: 'a' }, 1)).toEqual([2])

    // One good change and one bad one in the same file: nothing of it may be taken.
    const rejected = nextEvent(limiter, 'configError')
    writeAtomically(
      scratch.file,
      yaml(50, 10, '  - { name: extra, dimension: global, algorithm: fixed-window, limit: 0, window: 1s }\n'),
    )
    const error = await rejected
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).lines).toEqual([
      `${scratch.file}:6:71: rules[2].limit: must be a whole number of requests, at least 1`,
    ])
    expect(logger.lines).toEqual([
      `diana: configuration rejected, the rules in force stay:\n${scratch.file}:6:71: rules[2].limit: must be a whole number of requests, at least 1`,
    ])
    expect(limiter.rules.map((rule) => [rule.name, rule.limit])).toEqual([
      ['account', 3],
      ['device', 10],
    ])
    expect(await spend(limiter, { account: 'a' }, 3)).toEqual([1, 0, 'denied'])

    // Fixing the file brings the next version; the rejected one never counted as a version.
    const applied = nextEvent(limiter, 'config')
    writeAtomically(scratch.file, yaml(3, 7))
    expect((await applied).version).toBe(first.version + 1)
    expect(logger.lines).toHaveLength(1)
  })

  it('rejects a YAML syntax error in an edit with its position', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter } = limiterFor()
    await nextEvent(limiter, 'config')
    const rejected = nextEvent(limiter, 'configError')
    writeAtomically(scratch.file, 'version: 1\nrules:\n  - { name: a\n')
    expect((await rejected).message).toMatch(new RegExp(`^${scratch.file}:4:1: YAML syntax error: `))
    expect(limiter.rules).toHaveLength(2)
  })

  it('applies rule changes but says that store and response changes wait for a restart', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter, logger } = limiterFor()
    await nextEvent(limiter, 'config')
    const applied = nextEvent(limiter, 'config')
    writeAtomically(scratch.file, yaml(4, 10).replace('status: 503', 'status: 429'))
    await applied
    expect(limiter.rules[0]?.limit).toBe(4)
    expect(limiter.config?.response).toEqual({ status: 503 })
    expect(logger.lines).toEqual([
      `${scratch.file}: store, remote and response changes take effect on restart; applying the rules`,
    ])
  })

  it('does not follow the file with watch: false', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const fixed = limiterFor({ watch: false }).limiter
    const watching = limiterFor().limiter
    await nextEvent(watching, 'config')
    const applied = nextEvent(watching, 'config')
    writeAtomically(scratch.file, yaml(9, 10))
    await applied
    expect(watching.rules[0]?.limit).toBe(9)
    expect(fixed.rules[0]?.limit).toBe(3)
  })

  it('stops watching on close', async () => {
    writeAtomically(scratch.file, yaml(3, 10))
    const { limiter } = limiterFor()
    const other = limiterFor().limiter
    await nextEvent(other, 'config')
    await limiter.close()
    // Two edits in turn: by the time the second is seen, a live watcher would have seen the first.
    for (const limit of [9, 8]) {
      const applied = nextEvent(other, 'config')
      writeAtomically(scratch.file, yaml(limit, 10))
      await applied
    }
    expect(other.rules[0]?.limit).toBe(8)
    expect(limiter.rules[0]?.limit).toBe(3)
  })
})
