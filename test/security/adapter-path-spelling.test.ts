import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Router, { type RouterOptions } from '@koa/router'
import express from 'express'
import express4 from 'express4'
import Koa from 'koa'
import koa2 from 'koa2'
import { afterEach, describe, expect, it } from 'vitest'
import { diana as dianaExpress } from '../../adapters/express'
import { diana as dianaKoa } from '../../adapters/koa'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, rawStatus } from '../adapters/support/http'

// Issue 11: `/API/SECKILL/1` reached Express's seckill handler but skipped the seckill rule and
// got a fresh per-resource bucket. Every spelling a framework routes to a handler must count
// against the same rule and the same bucket.
const seckill = (path = '/api/seckill/**'): Rule => ({
  name: 'seckill',
  dimension: 'resource',
  algorithm: 'fixed-window',
  limit: 3,
  window: '1m',
  match: { path, methods: ['POST'] },
})

/** Spellings of POST /api/seckill/1 that some framework routes to the same handler. */
const spellings = (url: string) => [
  '/api/seckill/1',
  '/API/SECKILL/1',
  '/api/Seckill/1',
  '/api/seckill/1/',
  '/api/%73eckill/1',
  '/api/%53eckill/%31',
  '/api/seckill/%31',
  '/api/seckill/1#top',
  `${url}/api/seckill/1`,
]

describe.each(frameworks)('$name: another spelling of a path is the same resource', (framework) => {
  const start = startsApps(framework)

  it.each([
    ['mounted app-wide', true],
    ['mounted on the routes', false],
  ])('%s, with the framework defaults: the handler runs at most limit times', async (_how, appWide) => {
    const { url, hits } = await start({ options: { rules: [seckill()], clock: fakeClock().now }, appWide })
    const statuses: Record<string, number[]> = {}
    for (const target of [...spellings(url), ...spellings(url)]) {
      statuses[target] = [...(statuses[target] ?? []), await rawStatus(url, target, { method: 'POST' })]
    }
    expect(hits.get('/api/seckill/:sku'), JSON.stringify(statuses)).toBe(3)
  })

  it('with case-insensitive, slash-tolerant routing: still at most limit times', async () => {
    const { url, hits } = await start({
      options: { rules: [seckill()], clock: fakeClock().now },
      appWide: true,
      caseSensitive: false,
      strict: false,
    })
    const statuses: number[] = []
    for (const target of [...spellings(url), ...spellings(url)]) {
      statuses.push(await rawStatus(url, target, { method: 'POST' }))
    }
    expect(hits.get('/api/seckill/:sku'), JSON.stringify(statuses)).toBe(3)
    // Refused by the limiter (429), or by the router before any guard runs (NestJS on Express
    // does not decode `%73eckill` to match the literal `seckill`: 404). Neither reaches the handler.
    const refused = statuses.filter((s) => s === 429 || s === 404).length
    expect(refused).toBeGreaterThanOrEqual(spellings(url).length * 2 - 3 - 2)
  })

  it('a rule written with capitals still applies where routing ignores case', async () => {
    const { url, hits } = await start({
      options: { rules: [seckill('/API/Seckill/**')], clock: fakeClock().now },
      appWide: true,
      caseSensitive: false,
    })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push(await rawStatus(url, '/api/seckill/1', { method: 'POST' }))
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(hits.get('/api/seckill/:sku')).toBe(3)
  })

  it('with case-sensitive, strict routing, other spellings are other (unrouted) resources', async () => {
    const { url, hits } = await start({
      options: { rules: [seckill()], clock: fakeClock().now },
      appWide: true,
      caseSensitive: true,
      strict: true,
    })
    // The framework answers these 404: they use up nothing of /api/seckill/1's quota.
    for (const target of ['/API/SECKILL/1', '/api/Seckill/1', '/api/seckill/1/']) {
      for (let i = 0; i < 3; i++) expect(await rawStatus(url, target, { method: 'POST' })).not.toBe(200)
    }
    expect(await rawStatus(url, '/api/seckill/1', { method: 'POST' })).toBe(200)
    expect(hits.get('/api/seckill/:sku')).toBe(1)
  })

  it('different resources keep their own buckets', async () => {
    const rules: Rule[] = [{ ...seckill(), match: undefined, limit: 1 }]
    const { url } = await start({ options: { rules, clock: fakeClock().now }, appWide: true })
    expect(await rawStatus(url, '/items/1')).toBe(200)
    // Express and Koa route it to the same handler (429); Fastify, case-sensitive, does not (404).
    expect(await rawStatus(url, '/ITEMS/1/')).not.toBe(200)
    expect(await rawStatus(url, '/health')).toBe(200)
  })
})

/**
 * `listen(server, close)` for the tests of a suite: the server listens on a free loopback
 * port (its URL is returned); after each test it is shut down and `close` is called.
 */
function listensForEachTest(): (server: Server, close: () => Promise<void>) => Promise<string> {
  let running: { server: Server; close: () => Promise<void> } | undefined
  afterEach(async () => {
    if (!running) return
    const { server, close } = running
    running = undefined
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await close()
  })
  return async (server, close) => {
    running = { server, close }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
}

// Review finding: an app-wide Express limiter read only the app router's settings. With
// `case sensitive routing` on and a plain `express.Router()` (case ignored, its default) at
// /api, `/api/SECKILL/1` reached the seckill handler but was not lower-cased, so
// `/api/seckill/**` never matched: the handler ran 5 times against a limit of 2.
describe.each([
  ['express 4', express4],
  ['express 5', express],
])('%s: an app-wide limiter with a sub-router looser than the app', (_name, expressModule) => {
  const listen = listensForEachTest()

  async function start(mountApiAfterFirstRequest: boolean) {
    const app = expressModule()
    app.set('case sensitive routing', true)
    app.set('strict routing', true)
    const limit = dianaExpress({ rules: [{ ...seckill(), limit: 2 }], clock: fakeClock().now })
    app.use(limit)
    app.get('/health', (_req, res) => {
      res.send('ok')
    })
    let hits = 0
    const mountApi = () => {
      const api = expressModule.Router()
      api.post('/seckill/:sku', (_req, res) => {
        hits++
        res.send('bought')
      })
      app.use('/api', api)
    }
    if (!mountApiAfterFirstRequest) mountApi()
    const url = await listen(createServer(app), () => limit.close())
    return { url, mountApi, hits: () => hits }
  }

  const variants = [
    '/api/SECKILL/1',
    '/api/Seckill/1',
    '/api/seckill/1/',
    '/api/SECKILL/1/',
    '/api/seckill/1',
  ]

  it('case and slash variants the sub-router routes count against the rule', async () => {
    const { url, hits } = await start(false)
    const statuses: number[] = []
    for (const target of variants) statuses.push(await rawStatus(url, target, { method: 'POST' }))
    expect(hits(), JSON.stringify(statuses)).toBe(2)
    expect(statuses.filter((s) => s === 429)).toHaveLength(3)
  })

  it('a sub-router mounted after the first request is taken into account', async () => {
    const { url, mountApi, hits } = await start(true)
    expect(await rawStatus(url, '/health')).toBe(200)
    mountApi()
    const statuses: number[] = []
    for (const target of variants) statuses.push(await rawStatus(url, target, { method: 'POST' }))
    expect(hits(), JSON.stringify(statuses)).toBe(2)
  })
})

// Review finding: `router.use(diana(...))` in a prefixed @koa/router router (case ignored, the
// default) is skipped for another case of the prefix: @koa/router 15 builds that `use` layer's
// pattern with case, while its routes ignore case. `/API/seckill/1` ran the handler 5 times
// against a limit of 2. A @koa/router bug Diana cannot mend from inside the layer; the JSDoc
// and docs/koa.md say where to mount instead, and the middleware warns once when it finds
// itself in such a layer. If @koa/router fixes it, the first test fails: then drop the caveat.
describe.each([
  ['koa 2', koa2],
  ['koa 3', Koa],
])('%s: the limiter in router.use() of a router', (_name, KoaClass) => {
  const listen = listensForEachTest()

  async function start(routerOptions: RouterOptions, mount: 'use' | 'route') {
    const warnings: string[] = []
    const limit = dianaKoa({
      rules: [{ ...seckill(), limit: 2 }],
      clock: fakeClock().now,
      logger: { warn: (message) => warnings.push(message) },
    })
    const app = new KoaClass()
    const router = new Router(routerOptions)
    if (mount === 'use') router.use(limit)
    let hits = 0
    const route = routerOptions.prefix === undefined ? '/api/seckill/:sku' : '/seckill/:sku'
    router.post(route, ...(mount === 'route' ? [limit] : []), (ctx) => {
      hits++
      ctx.body = 'bought'
    })
    app.use(router.routes())
    const url = await listen(createServer(app.callback()), () => limit.close())
    return { url, warnings, hits: () => hits }
  }

  it('a prefixed router lets another case of the prefix past it, and the middleware warns once', async () => {
    const { url, warnings, hits } = await start({ prefix: '/api' }, 'use')
    for (let i = 0; i < 3; i++) await rawStatus(url, '/api/seckill/1', { method: 'POST' })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push(await rawStatus(url, '/API/seckill/1', { method: 'POST' }))
    // The limitation, pinned: the handler ran for every /API/... request.
    expect(statuses).toEqual([200, 200, 200, 200, 200])
    expect(hits()).toBe(2 + 5)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/router\.use\(\).*prefix.*on the routes/)
  })

  it.each([
    ['a router without a prefix', {}, 'use', '/API/seckill/1'],
    [
      'a prefixed router that is case-sensitive',
      { prefix: '/api', sensitive: true },
      'use',
      '/api/seckill/1',
    ],
    ['the limiter on the route of a prefixed router', { prefix: '/api' }, 'route', '/API/seckill/1'],
  ] as const)('%s: limited, no warning', async (_how, options, mount, target) => {
    const { url, warnings, hits } = await start(options, mount)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push(await rawStatus(url, target, { method: 'POST' }))
    expect(hits(), JSON.stringify(statuses)).toBe(2)
    expect(warnings).toEqual([])
  })
})
