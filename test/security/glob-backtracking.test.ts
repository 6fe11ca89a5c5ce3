import { performance } from 'node:perf_hooks'
import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { compileGlob, MAX_GLOB_LENGTH } from '../../src/rules/glob'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock } from '../support/fake-clock'

// A pattern that looks harmless, and a path that makes a backtracking matcher try every way
// of splitting it between the three `**`: cubic work, 18 s for 8 KB with the regex matcher.
const HOSTILE = '/a/**/b/**/c/**/d'
const hostilePath = (bytes: number) => `/a/${'b/c/'.repeat(bytes)}`.slice(0, bytes)

const rule = (name: string, path: string): Rule => ({
  name,
  dimension: 'resource',
  algorithm: 'fixed-window',
  limit: 1_000,
  window: '1m',
  match: { path },
})

describe('path globs against hostile paths', () => {
  it('a glob that backtracks a regular expression reads an 8 KB path once: steps grow linearly', () => {
    const compiled = compileGlob(HOSTILE)
    const steps = (bytes: number) => {
      const meter = { steps: 0 }
      expect(compiled.test(hostilePath(bytes), meter)).toBe(false)
      return meter.steps
    }
    const eightKb = steps(8192)
    // One table step per character, plus building the few deterministic states on first use.
    expect(eightKb).toBeLessThanOrEqual(8192 + 200)
    // Already built: the second path of the same shape costs one step per character.
    expect(steps(8192)).toBe(8192)
    expect(steps(16_384)).toBe(16_384)
  })

  it('even the costliest glob the rules accept reads a path in steps linear in its length', () => {
    // 256 characters whose deterministic form outgrows what a glob remembers, so every new
    // character costs a walk over the states: the bound on glob length is what bounds it.
    const worst = compileGlob(`**${'a'.repeat(MAX_GLOB_LENGTH - 2)}`)
    const steps = (bytes: number) => {
      const meter = { steps: 0 }
      expect(worst.test(`${'a'.repeat(bytes)}b`, meter)).toBe(false)
      return meter.steps
    }
    const eightKb = steps(8192)
    expect(eightKb).toBeLessThanOrEqual(8193 * (MAX_GLOB_LENGTH + 2))
    expect(steps(16_384)).toBeLessThanOrEqual(2.2 * eightKb)
  })

  it('a check against a rule with the hostile glob costs about what a plain glob does', async () => {
    const clock = createFakeClock()
    const hostile = createLimiter({ rules: [rule('hostile', HOSTILE)], clock })
    const plain = createLimiter({ rules: [rule('plain', '/a/**')], clock })
    // 2 KB, not 8: the regex matcher took 0.3 s a check here (18 s at 8 KB), and a check that
    // blocks the thread cannot be timed out, so this is what keeps the failing case short.
    const resource = hostilePath(2048)
    const time = async (limiter: typeof plain) => {
      const started = performance.now()
      for (let i = 0; i < 10; i++) await limiter.check({ resource })
      return performance.now() - started
    }
    // Interleaved rounds until one shows the two alike (at most 5): one busy moment on a shared
    // machine must not fail the test, while the regex matcher fails every round by far.
    let ratio = Number.POSITIVE_INFINITY
    for (let round = 0; round < 5 && ratio >= 20; round++) {
      const plainMs = await time(plain)
      ratio = (await time(hostile)) / (plainMs + 0.05)
    }
    expect(ratio).toBeLessThan(20)
    expect((await hostile.check({ resource: '/a/x/b/y/c/z/d' })).rule).toBe('hostile')
    expect((await plain.check({ resource })).rule).toBe('plain')
    await hostile.close()
    await plain.close()
  })

  it('a line break in the path does not take it out of a `**` rule', async () => {
    // The regex matcher's `.` stopped at line terminators, so `/api/seckill/x\n` escaped
    // `/api/seckill/**` (and its limit) while `*` and `?` matched them.
    const limiter = createLimiter({ rules: [rule('seckill', '/api/seckill/**')], clock: createFakeClock() })
    for (const resource of [
      '/api/seckill/x\n',
      '/api/seckill/\r\n/buy',
      '/api/seckill/\u2028',
      '/api/seckill/a\nb/c',
    ]) {
      expect([resource, (await limiter.check({ resource })).rule]).toEqual([resource, 'seckill'])
    }
    await limiter.close()
  })
})
