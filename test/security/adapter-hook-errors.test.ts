import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, send } from '../adapters/support/http'

// Issue 11: `identify()` returning an object made the adapter pass every request with no rule
// applied. A broken hook must switch off only what depends on it, and say so once.
const rules: Rule[] = [
  { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1m' },
  { name: 'per-device', dimension: 'device', algorithm: 'fixed-window', limit: 2, window: '1m' },
  {
    name: 'seckill',
    dimension: 'resource',
    algorithm: 'fixed-window',
    limit: 2,
    window: '1m',
    match: { path: '/api/seckill/**' },
  },
]

const planted = (hook: string) => new Error(`${hook} failed (planted by this test)`)
const broken: Array<[string, string, Record<string, unknown>]> = [
  ['identify', 'returns an object', { identify: () => ({ id: 'alice' }) }],
  [
    'identify',
    'throws',
    {
      identify: () => {
        throw planted('identify')
      },
    },
  ],
  ['identify', 'rejects', { identify: () => Promise.reject(planted('identify')) }],
  [
    'skip',
    'throws',
    {
      skip: () => {
        throw planted('skip')
      },
    },
  ],
  ['skip', 'rejects', { skip: () => Promise.reject(planted('skip')) }],
  ['skip', 'returns a string', { skip: () => 'no' }],
  [
    'normalizeResource',
    'throws',
    {
      normalizeResource: () => {
        throw planted('normalizeResource')
      },
    },
  ],
  ['normalizeResource', 'returns an object', { normalizeResource: () => ({ path: '/x' }) }],
]

describe.each(frameworks)('$name: a broken hook', (framework) => {
  const start = startsApps(framework)

  it.each(broken)('%s that %s: the other rules keep applying; logged once', async (hook, _how, hooks) => {
    const warnings: string[] = []
    const { url, hits } = await start({
      options: { rules, clock: fakeClock().now, logger: { warn: (m: string) => warnings.push(m) }, ...hooks },
    })
    const statuses = []
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await send(`${url}/api/seckill/${i}`, { method: 'POST', headers: { 'x-device-id': `d${i}` } }))
          .status,
      )
    }
    // seckill (per resource pattern) allows 2; per-device never binds here.
    expect(statuses).toEqual([200, 200, 429, 429])
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/health`)).status)
    // per-device: the client at 127.0.0.1 has 2.
    expect(statuses.slice(4)).toEqual([200, 200, 429])
    expect(hits.get('/api/seckill/:sku')).toBe(2)
    expect(warnings.filter((m) => m.includes(hook))).toHaveLength(1)
    expect(warnings.join('\n')).not.toMatch(/letting requests through unlimited/)
  })

  it.each([
    [
      'throws',
      () => {
        throw planted('onLimited')
      },
    ],
    ['rejects', () => Promise.reject(planted('onLimited'))],
  ])(
    'onLimited that %s: the denied request gets the default answer; logged once',
    async (_how, onLimited) => {
      const warnings: string[] = []
      const { url, hits } = await start({
        options: {
          rules,
          clock: fakeClock().now,
          logger: { warn: (m: string) => warnings.push(m) },
          onLimited,
        },
      })
      const statuses = []
      for (let i = 0; i < 4; i++) statuses.push((await send(`${url}/health`)).status)
      expect(statuses).toEqual([200, 200, 429, 429])
      const denied = await send(`${url}/health`)
      expect(JSON.parse(denied.body)).toMatchObject({ status: 429, rule: 'per-device' })
      expect(hits.get('/health')).toBe(2)
      expect(warnings.filter((m) => m.includes('onLimited'))).toHaveLength(1)
    },
  )
})
