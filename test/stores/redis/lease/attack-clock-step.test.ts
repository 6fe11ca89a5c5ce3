/**
 * Slices end on the instance no later than in Redis, whatever the clocks (docs/redis.md, "Leased
 * quotas"): a wall clock that steps back (NTP, a VM resumed) after a slice was taken must not
 * keep that slice alive into Redis's next window, where its units were never counted.
 */
import { expect, it } from 'vitest'
import type { Rule } from '../../../../src/rules/rule'
import type { RedisProcess } from '../../../support/redis-server'
import { describeLeaseAttack, globalRule } from './attack-support'

const WINDOW_MS = 1000
const global = (lease: Rule['lease']): Rule => globalRule(lease, { limit: 10, window: WINDOW_MS })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Redis's TIME in ms (the server runs on this host, but its clock is the one that counts). */
async function redisNow(redis: RedisProcess): Promise<number> {
  const [seconds, micros] = (await redis.cli('TIME')).split('\n').map(Number) as [number, number]
  return seconds * 1000 + Math.floor(micros / 1000)
}

describeLeaseAttack('leased quotas: a wall clock stepping back', (suite) => {
  it('a slice taken before the step ends with its window in Redis', async () => {
    let offset = 0
    const wallClock = () => Date.now() + offset
    // Start early in a window of Redis's clock, so the slice is taken well inside it.
    const into = (await redisNow(suite.redis)) % WINDOW_MS
    if (into > 100) await sleep(WINDOW_MS - into + 20)
    // The instance's wall clock, as the limiter would give it, but one the test can step.
    const stepped = suite.fleet.instanceWithClock([global({ maxSlice: 5 })], wallClock)
    expect((await stepped.limiter.check({})).allowed).toBe(true)
    await sleep(20) // the next slice, asked ahead, lands
    offset = -5000
    // Redis's next window: an exact instance takes all of it.
    const left = WINDOW_MS - ((await redisNow(suite.redis)) % WINDOW_MS)
    await sleep(left + 50)
    const exact = suite.fleet.instance([global(undefined)], undefined)
    let allowed = 0
    while ((await exact.limiter.check({})).allowed) allowed++
    // The stepped instance has nothing of this window: its old slice must be over.
    const late = await stepped.limiter.check({})
    if (late.allowed && !late.degraded) allowed++
    expect(allowed).toBeLessThanOrEqual(10)
  })
})
