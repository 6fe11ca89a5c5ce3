/**
 * Four Node processes on one Redis share one fixed-window limit of 1,000: together they get
 * exactly 1,000 allowed, also when two of them have clocks skewed by ±5 s.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { killFleet, runFleet } from '../../support/fleet'
import { describeRedis, type RedisProcess, startRedis } from '../../support/redis-server'

const WORKER = fileURLToPath(new URL('./fixtures/shared-limit-worker.ts', import.meta.url))
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
})
