import type { EventEmitter } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Controller, Get, Module, UseGuards } from '@nestjs/common'
import { afterEach, describe, expect, it } from 'vitest'
import { DIANA_LIMITER, DianaGuard, DianaModule, RateLimit } from '../../adapters/nestjs'
import type { Limiter } from '../../src/limiter'
import { send } from '../adapters/support/http'
import { PLATFORMS, startsNestApps } from '../adapters/support/nest-app'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'

// @RateLimit routes decide with limiters of their own over the module's Redis store. Each
// must neither leave listeners on that store when a reload replaces it (a config centre that
// pushes often would grow them without end) nor miss an outage that began before it was built.

const file = (limit: number) =>
  `version: 1\nrules:\n  - { name: device, dimension: device, algorithm: fixed-window, limit: ${limit}, window: 1m }\n`

function appWith(config: string, store: object) {
  @Controller()
  @UseGuards(DianaGuard)
  class Api {
    @Get('a')
    @RateLimit([{ name: 'a', dimension: 'device', algorithm: 'fixed-window', limit: 100, window: '1h' }])
    a() {
      return 'a'
    }

    @Get('b')
    @RateLimit([{ name: 'b', dimension: 'device', algorithm: 'fixed-window', limit: 100, window: '1h' }])
    b() {
      return 'b'
    }
  }
  @Module({
    imports: [DianaModule.forRoot({ config, store, logger: { warn() {}, error() {} } } as never)],
    controllers: [Api],
  })
  class App {}
  return App
}

describeRedis('NestJS @RateLimit routes over a Redis store', () => {
  let redis: RedisProcess | undefined
  let dir: string | undefined
  afterEach(async () => {
    await redis?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    redis = undefined
    dir = undefined
  })

  describe.each(PLATFORMS)('on %s', (platform) => {
    const start = startsNestApps()

    const setUp = async (onFailure: string) => {
      redis = await startRedis()
      dir = await mkdtemp(join(tmpdir(), 'diana-nest-redis-'))
      const config = join(dir, 'diana.yaml')
      await writeFile(config, file(50))
      const store = { type: 'redis', url: redis.url, onFailure, logger: false }
      const { url, app } = await start(appWith(config, store), platform)
      const limiter = app.get<Limiter>(DIANA_LIMITER)
      for (let i = 0; i < 100 && (await limiter.check({ device: 'warm-up' })).degraded; i++) await sleep(20)
      return { url, limiter, config }
    }

    it('reloads do not pile listeners up on the shared store', async () => {
      const { url, limiter, config } = await setUp('open')
      const store = limiter.sharedStore as unknown as EventEmitter
      expect((await send(`${url}/a`)).status).toBe(200)
      const listeners = store.listenerCount('degraded') + store.listenerCount('recovered')
      for (let reload = 0; reload < 4; reload++) {
        const reloaded = new Promise((resolve) => limiter.once('config', resolve))
        await writeFile(config, file(60 + reload))
        await reloaded
        expect((await send(`${url}/a`)).status).toBe(200)
      }
      expect(store.listenerCount('degraded') + store.listenerCount('recovered')).toBe(listeners)
    })

    it('a route first requested during an outage of a store that fails closed answers 503', async () => {
      const { url } = await setUp('closed')
      expect((await send(`${url}/a`)).status).toBe(200)
      await redis?.kill()
      expect((await send(`${url}/a`)).status).toBe(503)
      // /b's limiter is built now, after the outage began: it is refused alike, not told 429.
      const refused = await send(`${url}/b`)
      expect(refused.status).toBe(503)
      expect(JSON.parse(refused.body)).toMatchObject({ type: expect.stringMatching(/store-unavailable$/) })
    })
  })
})
