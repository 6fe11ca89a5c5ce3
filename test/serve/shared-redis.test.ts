import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { postCheck, ServeProcess, writeConfig } from './serve-process'

/** Several `diana serve` instances behind a load balancer: one Redis, one set of limits. */
describeRedis('two diana serve processes sharing a Redis', () => {
  let redis: RedisProcess
  let config: { file: string; remove: () => void }
  let a: ServeProcess
  let b: ServeProcess

  beforeAll(async () => {
    redis = await startRedis()
    config = writeConfig(`version: 1
store: { type: redis, url: "${redis.url}" }
rules:
  - { name: per-account, dimension: account, algorithm: sliding-window, limit: 5, window: 1h }
`)
    ;[a, b] = await Promise.all([ServeProcess.start(config.file), ServeProcess.start(config.file)])
  }, 30_000)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    config?.remove()
    await redis?.stop()
  })

  it('share one quota: checks alternating between them run out together', async () => {
    const subject = { subject: { account: 'shared-1' } }
    const seen: string[] = []
    for (let i = 0; i < 7; i++) {
      const serve = i % 2 === 0 ? a : b
      const res = await postCheck(serve.url, subject)
      const body = (await res.json()) as { remaining: number; degraded: boolean }
      expect(body.degraded).toBe(false)
      seen.push(`${res.status}:${body.remaining}`)
    }
    expect(seen).toEqual(['200:4', '200:3', '200:2', '200:1', '200:0', '429:0', '429:0'])
  })

  it('keep the counts in Redis across a restart of both', async () => {
    expect(await a.stop()).toBe(0)
    expect(await b.stop()).toBe(0)
    a = await ServeProcess.start(config.file)
    const res = await postCheck(a.url, { subject: { account: 'shared-1' } })
    expect(res.status).toBe(429)
    b = await ServeProcess.start(config.file)
  }, 30_000)
})
