/**
 * Four Node processes on one Redis share one fixed-window limit of 1,000: together they get
 * exactly 1,000 allowed, also when two of them have clocks skewed by ±5 s. And the permits of a
 * `concurrency` rule held by a process that is SIGKILLed come back once the window has passed.
 */
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLimiter } from '../../../src/limiter'
import { RedisStore } from '../../../src/stores/redis/redis-store'
import { withTestClock } from '../../../src/stores/redis/test-clock'
import { createFakeClock, DEFAULT_START_MS } from '../../support/fake-clock'
import { killFleet, runFleet } from '../../support/fleet'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'

const WORKER = fileURLToPath(new URL('./fixtures/shared-limit-worker.ts', import.meta.url))
const PERMIT_HOLDER = fileURLToPath(new URL('./fixtures/permit-holder-worker.ts', import.meta.url))
let redis: RedisProcess

/** Runs one process per skew, each trying `checks`; resolves with each one's report. */
function runSkewedFleet(skews: number[], checks: number, rule: string) {
  return runFleet<{ allowed: number; degraded: number }>(
    WORKER,
    skews.map((skew) => [redis.url, String(skew), String(checks), rule]),
  )
}

describeRedis('several processes share one limit through Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    killFleet()
    await redis?.stop()
  })

  it('4 processes, 1,600 checks, limit 1,000: exactly 1,000 allowed', async () => {
    const reports = await runSkewedFleet([0, 0, 0, 0], 400, `fleet-${Date.now()}`)
    expect(reports.reduce((sum, r) => sum + r.degraded, 0)).toBe(0)
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(1000)
  })

  it('the same with two clocks skewed by +5 s and -5 s: Redis time decides', async () => {
    const reports = await runSkewedFleet([5000, -5000, 0, 0], 400, `skewed-${Date.now()}`)
    expect(reports.reduce((sum, r) => sum + r.degraded, 0)).toBe(0)
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(1000)
  })

  it('concurrency: permits of a SIGKILLed instance come back after the window, not before', async () => {
    const rule = `held-${Date.now()}`
    const W = 8000
    const t0 = DEFAULT_START_MS + 250 // slots are W/8 = 1000 ms wide: reclaimed at t0 + 8750
    const [report] = await runFleet<{ allowed: number }>(PERMIT_HOLDER, [
      [redis.url, rule, '3', String(W), '5', String(t0)],
    ])
    expect(report?.allowed).toBe(3)
    killFleet()
    const clock = createFakeClock(t0)
    const options = withTestClock({ type: 'redis' as const, url: redis.url, logger: false as const }, clock)
    const limiter = createLimiter({
      rules: [{ name: rule, dimension: 'global', algorithm: 'concurrency', limit: 3, window: W }],
      store: new RedisStore(options, clock),
      clock,
    })
    try {
      clock.advance(W - 1)
      expect(await limiter.check({})).toMatchObject({ allowed: false, retryAfterMs: 751 })
      clock.advance(750)
      expect((await limiter.check({})).allowed).toBe(false)
      clock.advance(1)
      expect(await limiter.check({}, { cost: 3 })).toMatchObject({ allowed: true, remaining: 0 })
    } finally {
      await limiter.close()
    }
  })

  it('concurrency: on Redis time, the key of a SIGKILLed instance expires once its permits are reclaimed', async () => {
    const rule = `expiring-${Date.now()}`
    const [report] = await runFleet<{ allowed: number }>(PERMIT_HOLDER, [
      [redis.url, rule, '2', '1h', '2', ''],
    ])
    expect(report?.allowed).toBe(2)
    killFleet()
    const raw = new Redis(redis.url)
    try {
      const [key] = await raw.keys(`*${rule}*`)
      const ttl = await raw.pttl(key as string)
      // Held at least the window and at most an eighth of it longer (minus the test's own time).
      expect(ttl).toBeGreaterThan(3_600_000 - 60_000)
      expect(ttl).toBeLessThanOrEqual(3_600_000 + 450_000)
    } finally {
      raw.disconnect()
    }
  })
})
