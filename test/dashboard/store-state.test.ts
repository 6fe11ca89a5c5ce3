/**
 * The store and configuration panels' data over real HTTP: a limiter on a real redis-server
 * shows as shared, with the instances it counted, then degraded while Redis is stopped and
 * healthy again after; a rejected configuration file shows as the last error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/index'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { watchedRedisLimiters } from '../support/watched-redis-limiter'
import { auth, recording, serveDashboard, TOKEN } from './dashboard-harness'

interface Status {
  store: { shared: boolean; degraded: boolean; instances: number | undefined }
  storeEvent?: { event: string }
  config?: { version: number; source: string; lastError?: { message: string } }
}

async function status(url: string): Promise<Status> {
  const res = await fetch(`${url}/api/state`, { headers: auth() })
  expect(res.status).toBe(200)
  return ((await res.json()) as { status: Status }).status
}

const RULES = [
  { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: '1h' },
]

describeRedis('the dashboard on a Redis store', () => {
  let redis: RedisProcess
  const watch = watchedRedisLimiters()
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('shows the store shared, then degraded while Redis is away, then healthy again', async () => {
    const { limiter, store } = watch(RULES, {
      url: redis.url,
      commandTimeoutMs: 50,
      failureThreshold: 1,
      probeBackoff: { minMs: 20, maxMs: 100 },
    })
    const running = await serveDashboard(limiter, { token: TOKEN })
    try {
      await store.ready()
      await limiter.check({ account: 'alice' })
      expect((await status(running.url)).store).toEqual({ shared: true, degraded: false, instances: 1 })
      redis.pause()
      await expect
        .poll(async () => (await limiter.check({ account: 'alice' })).degraded, { timeout: 5000 })
        .toBe(true)
      const away = await status(running.url)
      expect(away.store.degraded).toBe(true)
      expect(away.storeEvent?.event).toBe('degraded')
      redis.resume()
      await expect
        .poll(async () => (await limiter.check({ account: 'alice' })).degraded, { timeout: 5000 })
        .toBe(false)
      const back = await status(running.url)
      expect(back.store.degraded).toBe(false)
      expect(back.storeEvent?.event).toBe('recovered')
    } finally {
      redis.resume()
      await running.close()
    }
  })
})

describe('the dashboard on a configuration file', () => {
  it('shows the source, the version and the last rejected document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diana-dashboard-config-'))
    const file = join(dir, 'diana.yaml')
    writeFileSync(
      file,
      'version: 1\nrules:\n  - { name: a, dimension: account, algorithm: fixed-window, limit: 1, window: 1m }\n',
    )
    const limiter = createLimiter({ config: file, logger: recording() })
    const running = await serveDashboard(limiter, { token: TOKEN })
    try {
      expect((await status(running.url)).config).toMatchObject({ version: 1, source: file })
      writeFileSync(
        file,
        'version: 1\nrules:\n  - { name: a, dimension: account, algorithm: fixed-window, limit: -1, window: 1m }\n',
      )
      await expect
        .poll(async () => (await status(running.url)).config?.lastError?.message, { timeout: 5000 })
        .toMatch(/diana\.yaml:3:\d+: rules\[0\]\.limit/)
      // The rules in force stayed.
      expect((await status(running.url)).config?.version).toBe(1)
    } finally {
      await running.close()
      await limiter.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
