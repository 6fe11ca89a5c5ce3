import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Algorithm } from '../../src/algorithm'
import { loadConfig } from '../../src/config/load-config'
import { createLimiter } from '../../src/limiter'
import { registerAlgorithm, registerDimension } from '../../src/registry'
import { fakeClock } from './config-helpers'

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))

// The example of docs/configuration.md, "Adding a rule kind".
const dailyQuota: Algorithm = {
  stateSize: 2,
  acceptsBurst: false,
  step(state, { now, cost }, { limit, windowMs }) {
    const day = Math.floor(now / windowMs)
    const used = state?.[0] === day ? (state[1] ?? 0) : 0
    const resetMs = (day + 1) * windowMs - now
    if (used + cost > limit) {
      return {
        state: [day, used],
        decision: { allowed: false, remaining: limit - used, resetMs, retryAfterMs: resetMs, delayMs: 0 },
      }
    }
    return {
      state: [day, used + cost],
      decision: { allowed: true, remaining: limit - used - cost, resetMs, retryAfterMs: 0, delayMs: 0 },
    }
  },
}

describe('new rule kinds from the registry', () => {
  it('rejects a file using a kind this process has not registered, as a whole', () => {
    const file = fixture('registered-kinds.yaml')
    expect(() => loadConfig(file)).toThrow(`${file}:3:38: rules[0].dimension: unknown dimension "tenant"`)
    expect(() => loadConfig(file)).toThrow(
      `${file}:3:69: rules[0].algorithm: unknown algorithm "daily-quota"`,
    )
  })

  it('accepts it once registered, with no schema change, and old files read the same', async () => {
    const before = loadConfig(fixture('contract-example.yaml'))
    registerDimension('tenant')
    registerAlgorithm('daily-quota', dailyQuota)
    expect(loadConfig(fixture('contract-example.yaml'))).toEqual(before)

    const limiter = createLimiter({
      config: fixture('registered-kinds.yaml'),
      watch: false,
      clock: fakeClock().now,
    })
    const subject = { tenant: 'acme', resource: '/api/orders' }
    const allowed = []
    for (let i = 0; i < 3; i++) allowed.push((await limiter.check(subject)).allowed)
    expect(allowed).toEqual([true, true, false])
    expect((await limiter.check({ tenant: 'other', resource: '/api/orders' })).allowed).toBe(true)
    await limiter.close()
  })
})
