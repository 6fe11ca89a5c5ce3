import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/types'
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
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(spellings(url).length * 2 - 3 - 2)
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
