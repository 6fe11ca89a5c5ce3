import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { frameworks, type RunningApp } from './support/apps'
import { limitHeaders, send } from './support/http'

// An hour-long window: a test never straddles a window boundary of Redis's own clock.
const rules: Rule[] = [
  { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 3, window: '1h' },
]
const quiet = { warn: () => {} }

/** Until the first connection is up, checks are decided by the failure policy too. */
async function connected(limiter: Limiter): Promise<void> {
  for (let i = 0; i < 100 && (await limiter.check({ device: 'warm-up' })).degraded; i++) await sleep(20)
}

describeRedis('adapters when Redis fails', () => {
  let app: RunningApp | undefined
  let redis: RedisProcess | undefined
  const limiters: Limiter[] = []
  afterEach(async () => {
    await app?.close()
    await Promise.all(limiters.splice(0).map((limiter) => limiter.close()))
    await redis?.stop()
    app = undefined
    redis = undefined
  })

  /** An app whose adapter builds its limiter on a real Redis, which is then killed. */
  const startWith = async (framework: (typeof frameworks)[number], onFailure: string) => {
    redis = await startRedis()
    const store = { type: 'redis', url: redis.url, onFailure, logger: false }
    app = await framework.start({ options: { rules, store, logger: quiet } })
    await connected(app.limiter)
    const shared = await send(`${app.url}/health`)
    // Windows are aligned to the epoch on Redis's clock: t is whatever is left of this hour.
    expect([shared.status, shared.headers.get('ratelimit')]).toEqual([
      200,
      expect.stringMatching(/^"device";r=2;t=\d+$/),
    ])
    await redis.kill()
    return app
  }

  it.each(frameworks)('$name, onFailure open: requests pass unlimited, never a 5xx', async (framework) => {
    const { url, hits } = await startWith(framework, 'open')
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await send(`${url}/health`)).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200])
    expect(hits.get('/health')).toBe(6)
  })

  it.each(frameworks)(
    '$name, onFailure closed: 503 problem+json, the handler is not reached',
    async (framework) => {
      const { url, hits } = await startWith(framework, 'closed')
      const refused = await send(`${url}/health`)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(JSON.parse(refused.body)).toMatchObject({
        status: 503,
        type: expect.stringMatching(/store-unavailable$/),
      })
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(hits.get('/health')).toBe(1)
    },
  )

  it.each(frameworks)(
    '$name, onFailure fallback: limits locally with the same headers',
    async (framework) => {
      const { url } = await startWith(framework, 'fallback')
      const replies = []
      for (let i = 0; i < 4; i++) replies.push(await send(`${url}/health`))
      // This one instance gets the whole limit of 3 locally, less the request Redis admitted.
      expect(replies.map((r) => r.status)).toEqual([200, 200, 429, 429])
      expect(limitHeaders(replies[3]!)).toMatchObject({ 'ratelimit-policy': '"device";q=3;w=3600' })
    },
  )

  it.each(frameworks)(
    '$name, a shared limiter failing closed: 503 once the outage is known',
    async (framework) => {
      redis = await startRedis()
      const limiter = createLimiter({
        rules,
        store: { type: 'redis', url: redis.url, onFailure: 'closed', logger: false },
      })
      limiters.push(limiter)
      await connected(limiter)
      app = await framework.start({ options: { limiter, logger: quiet } })
      expect((await send(`${app.url}/health`)).status).toBe(200)
      const down = new Promise((resolve) => limiter.once('degraded', resolve))
      await redis.kill()
      // Before the breaker opens, the adapter cannot tell a refusing store from a full quota.
      const statuses = new Set<number>()
      while (!(await Promise.race([down.then(() => true), sleep(5).then(() => false)]))) {
        statuses.add((await send(`${app.url}/health`)).status)
      }
      for (const status of statuses) expect([429, 503]).toContain(status)
      expect((await send(`${app.url}/health`)).status).toBe(503)
    },
  )
})
