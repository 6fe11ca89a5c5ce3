/**
 * The unused bound (docs/redis.md, "Leased quotas"): when the pool runs dry, what sits unused in
 * other instances' slices is at most (N - 1) x maxSlice. An instance asks for its next slice
 * before the last one is spent and keeps what is left of it: together they must stay within
 * maxSlice.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { createFakeClock } from '../../../support/fake-clock'
import { describeLeaseAttack, globalRule } from './attack-support'

const MAX_SLICE = 10
const global = globalRule({ maxSlice: MAX_SLICE })

/** The units the instances hold by the key's lease table. */
async function heldByTable(client: Redis): Promise<number[]> {
  const [table] = await client.keys('*:l')
  if (table === undefined) return []
  const entries = await client.hgetall(table)
  return Object.values(entries).map((entry) => Number(entry.split(',')[0]))
}

describeLeaseAttack('leased quotas: unused quota when the pool runs dry', (suite) => {
  let client: Redis
  beforeAll(() => {
    client = new Redis(suite.redis.url)
  })
  beforeEach(async () => {
    await client.flushall()
  })
  afterAll(() => {
    client?.disconnect()
  })

  it('2 instances: the quiet one holds at most maxSlice when the busy one finds the pool dry', async () => {
    const clock = createFakeClock()
    const quiet = suite.fleet.instance([global], clock)
    const busy = suite.fleet.instance([global], clock)
    // The quiet instance is busy for a while (slices of maxSlice), then stops where it holds most.
    let most = 0
    let quietAllowed = 0
    for (let i = 0; i < 60; i++) {
      if ((await quiet.limiter.check({})).allowed) quietAllowed++
      clock.advance(1)
      await new Promise((resolve) => setTimeout(resolve, 2))
      most = Math.max(most, ...(await heldByTable(client)))
      if (most > MAX_SLICE) break
    }
    let busyAllowed = 0
    while ((await busy.limiter.check({})).allowed) busyAllowed++
    // What the quiet one still admits on its own is what sat unused when the busy one ran dry.
    let unused = 0
    while ((await quiet.limiter.check({})).allowed) unused++
    expect(most).toBeLessThanOrEqual(MAX_SLICE)
    expect(unused).toBeLessThanOrEqual(MAX_SLICE)
    // And the fleet admitted the limit: no more, and nothing lost on the way.
    expect(quietAllowed + busyAllowed + unused).toBe(1000)
  })
})
