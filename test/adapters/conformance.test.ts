import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ONE_ADDRESS_REQUESTS } from '../../adapters/core/proxy-warnings'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { MemoryStore } from '../../src/stores/memory-store'
import type { Evaluation, Store } from '../../src/stores/store'
import { thenable } from '../support/thenable'
import { frameworks, startsApps } from './support/apps'
import { fakeClock, limitHeaders, send } from './support/http'

// 1_700_000_040_000 is a whole number of minutes: a 1m fixed window has 60 s left.
const perDevice: Rule = {
  name: 'per-device',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit: 2,
  window: '1m',
}

const perIp: Rule = { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 2, window: '1m' }
/** A rule that never denies in these tests, so that requests go through and are watched. */
const roomy: Rule = {
  name: 'roomy',
  dimension: 'global',
  algorithm: 'fixed-window',
  limit: 10_000,
  window: '1m',
}

describe.each(frameworks)('$name adapter', (framework) => {
  const start = startsApps(framework)

  it('limits per device and describes the binding rule in draft headers', async () => {
    const clock = fakeClock()
    const { url, hits } = await start({ options: { rules: [perDevice], clock: clock.now } })
    const a = { 'x-device-id': 'phone-a' }
    const first = await send(`${url}/items/1`, { headers: a })
    expect(first.status).toBe(200)
    expect(first.body).toBe('item')
    expect(limitHeaders(first)).toEqual({
      'ratelimit-policy': '"per-device";q=2;w=60',
      ratelimit: '"per-device";r=1;t=60',
    })
    clock.advance(1500)
    expect(limitHeaders(await send(`${url}/items/2`, { headers: a }))).toEqual({
      'ratelimit-policy': '"per-device";q=2;w=60',
      ratelimit: '"per-device";r=0;t=59',
    })
    const denied = await send(`${url}/items/3`, { headers: a })
    expect(denied.status).toBe(429)
    expect(limitHeaders(denied)).toEqual({
      'ratelimit-policy': '"per-device";q=2;w=60',
      ratelimit: '"per-device";r=0;t=59',
      'retry-after': '59',
    })
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(denied.body)).toMatchObject({
      type: expect.stringMatching(/rate-limited$/),
      title: 'Too Many Requests',
      status: 429,
      detail: 'Rate limit "per-device" exceeded: at most 2 requests per 1 min. Retry in 59 s.',
      rule: 'per-device',
    })
    expect((await send(`${url}/items/1`, { headers: { 'x-device-id': 'phone-b' } })).status).toBe(200)
    // The denied request never reached the handler.
    expect(hits.get('/items/:id')).toBe(3)
  })

  it('counts a client without x-device-id by its address, ignoring X-Forwarded-For by default', async () => {
    const quiet = { warn: () => {} }
    const { url } = await start({ options: { rules: [perDevice], clock: fakeClock().now, logger: quiet } })
    const statuses = []
    for (const forwarded of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) {
      statuses.push((await send(`${url}/health`, { headers: { 'x-forwarded-for': forwarded } })).status)
    }
    expect(statuses).toEqual([200, 200, 429])
  })

  it('with a trusted proxy, counts the forwarded client, IPv6 grouped per /56', async () => {
    const { url } = await start({ options: { rules: [perDevice], clock: fakeClock().now }, trustProxy: true })
    const from = async (ip: string) =>
      (await send(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).status
    expect(await from('2001:db8:1:2::1')).toBe(200)
    expect(await from('2001:db8:1:3:ffff:aaaa:bbbb:cccc')).toBe(200)
    expect(await from('2001:0DB8:0001:00ff::9')).toBe(429)
    expect(await from('2001:db8:1:100::1')).toBe(200)
    expect(await from('203.0.113.7')).toBe(200)
    expect(await from('::ffff:203.0.113.7')).toBe(200)
    expect(await from('::ffff:cb00:7107')).toBe(429)
  })

  it('limits per ip by the address the framework reports, whatever the headers say', async () => {
    const { url } = await start({ options: { rules: [perIp], clock: fakeClock().now } })
    const statuses = []
    const spoofs: Record<string, string>[] = [
      { 'x-device-id': 'a', 'x-forwarded-for': '1.1.1.1' },
      { 'x-device-id': 'b', 'x-real-ip': '2.2.2.2' },
      { 'x-device-id': 'c', forwarded: 'for=3.3.3.3' },
    ]
    for (const headers of spoofs) {
      statuses.push((await send(`${url}/health`, { headers })).status)
    }
    expect(statuses).toEqual([200, 200, 429])
    const denied = await send(`${url}/health`)
    expect(JSON.parse(denied.body)).toMatchObject({ rule: 'per-ip' })
  })

  it('with a trusted proxy, an ip rule counts each forwarded client; ipv6Subnet 128 counts per address', async () => {
    const { url } = await start({
      options: { rules: [{ ...perIp, limit: 1 }], clock: fakeClock().now, ipv6Subnet: 128 },
      trustProxy: true,
    })
    const from = async (ip: string) =>
      (await send(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).status
    expect(await from('2001:db8::1')).toBe(200)
    expect(await from('2001:db8::2')).toBe(200)
    expect(await from('2001:DB8:0::0:1')).toBe(429)
    expect(await from('198.51.100.1')).toBe(200)
    expect(await from('198.51.100.2')).toBe(200)
  })

  it.each([
    ['synchronous', false],
    ['asynchronous', true],
  ])('counts the device a %s identifyDevice names, apart from header values', async (_kind, async) => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url } = await start({
      options: { rules, clock: fakeClock().now },
      identifyDeviceByHeader: { header: 'x-session-device', async },
    })
    const as = (headers: Record<string, string>) => send(`${url}/health`, { headers }).then((r) => r.status)
    expect(await as({ 'x-session-device': 'tablet' })).toBe(200)
    expect(await as({ 'x-session-device': 'tablet', 'x-device-id': 'other' })).toBe(429)
    // The same text in the device header is another key space.
    expect(await as({ 'x-device-id': 'tablet' })).toBe(200)
    expect(await as({ 'x-session-device': 'laptop' })).toBe(200)
    // Where the hook names none: the header, else the address.
    expect(await as({ 'x-device-id': 'tablet' })).toBe(429)
    expect(await as({})).toBe(200)
    expect(await as({})).toBe(429)
  })

  it('falls back to the header when identifyDevice throws, and says so once', async () => {
    const warnings: string[] = []
    const { url } = await start({
      options: {
        rules: [{ ...perDevice, limit: 1 }],
        clock: fakeClock().now,
        logger: { warn: (message: string) => warnings.push(message) },
      },
      identifyDeviceByHeader: { header: 'x-session-device' },
    })
    const statuses = []
    for (const device of ['phone', 'phone', 'tablet']) {
      const headers = { 'x-session-device': 'throw', 'x-device-id': device }
      statuses.push((await send(`${url}/health`, { headers })).status)
    }
    expect(statuses).toEqual([200, 429, 200])
    expect(warnings.filter((w) => w.includes('identifyDevice'))).toHaveLength(1)
  })

  it('reads the device from the header deviceHeader names', async () => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url } = await start({ options: { rules, clock: fakeClock().now, deviceHeader: 'X-Client-Id' } })
    const as = (headers: Record<string, string>) => send(`${url}/health`, { headers }).then((r) => r.status)
    expect(await as({ 'x-client-id': 'a' })).toBe(200)
    expect(await as({ 'x-client-id': 'a' })).toBe(429)
    expect(await as({ 'x-client-id': 'b' })).toBe(200)
    // x-device-id is just another header now: these count by the address.
    expect(await as({ 'x-device-id': 'c' })).toBe(200)
    expect(await as({ 'x-device-id': 'd' })).toBe(429)
  })

  it('with deviceHeader false, counts every device by its address', async () => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url } = await start({ options: { rules, clock: fakeClock().now, deviceHeader: false } })
    const as = (device: string) => send(`${url}/health`, { headers: { 'x-device-id': device } })
    expect((await as('a')).status).toBe(200)
    expect((await as('b')).status).toBe(429)
  })

  it('puts the decision on the request for the handler; none on a skipped request', async () => {
    const { url } = await start({
      options: { rules: [perDevice], clock: fakeClock().now },
      skipByHeader: true,
    })
    const first = await send(`${url}/decision`)
    expect(JSON.parse(first.body)).toMatchObject({
      allowed: true,
      rule: 'per-device',
      limit: 2,
      remaining: 1,
      resetMs: 60_000,
      retryAfterMs: 0,
      delayMs: 0,
      degraded: false,
    })
    expect(JSON.parse((await send(`${url}/decision`, { headers: { 'x-skip': '1' } })).body)).toBeNull()
    expect(JSON.parse((await send(`${url}/decision`)).body)).toMatchObject({ allowed: true, remaining: 0 })
  })

  it('warns once when X-Forwarded-For arrives but the framework does not trust proxies', async () => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    const { url } = await start({ options: { rules: [roomy], clock: fakeClock().now, logger } })
    await send(`${url}/health`)
    expect(warnings).toEqual([])
    for (const forwarded of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      await send(`${url}/health`, { headers: { 'x-forwarded-for': forwarded } })
    }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/DIANA_UNTRUSTED_FORWARDED_FOR.*trust.*docs\/security\.md#behind-a-proxy/)
  })

  it('does not warn about X-Forwarded-For when the framework trusts proxies', async () => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    const { url } = await start({
      options: { rules: [roomy], clock: fakeClock().now, logger },
      trustProxy: true,
    })
    for (let i = 0; i < ONE_ADDRESS_REQUESTS + 5; i++) {
      await send(`${url}/health`, { headers: { 'x-forwarded-for': `198.51.100.${i % 7}` } })
    }
    expect(warnings).toEqual([])
  })

  it('warns once when the first requests all come from one private address with proxy headers', async () => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    const { url } = await start({ options: { rules: [roomy], clock: fakeClock().now, logger } })
    for (let i = 0; i < ONE_ADDRESS_REQUESTS + 5; i++) {
      await send(`${url}/health`, { headers: { 'x-real-ip': `198.51.100.${i % 7}` } })
    }
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/DIANA_ONE_ADDRESS.*127\.0\.0\.1.*trust/)
  })

  it('does not take one client without proxy headers for a proxy, nor warn with proxyWarnings false', async () => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    const plain = await start({ options: { rules: [roomy], clock: fakeClock().now, logger } })
    for (let i = 0; i < ONE_ADDRESS_REQUESTS + 5; i++) await send(`${plain.url}/health`)
    await plain.close()
    const quiet = await start({
      options: { rules: [roomy], clock: fakeClock().now, logger, proxyWarnings: false },
    })
    for (let i = 0; i < ONE_ADDRESS_REQUESTS + 5; i++) {
      await send(`${quiet.url}/health`, { headers: { 'x-forwarded-for': '198.51.100.1' } })
    }
    expect(warnings).toEqual([])
  })

  it('limits per account when identify names one; anonymous requests get no headers', async () => {
    const rules: Rule[] = [
      { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: 1, window: '1m' },
    ]
    const { url } = await start({ options: { rules, clock: fakeClock().now }, identifyByHeader: true })
    const as = (account: string) => send(`${url}/items/1`, { headers: { 'x-account': account } })
    const first = await as('alice')
    expect(first.status).toBe(200)
    // Sliding window: whole again once the estimate has decayed to 0, two windows on.
    expect(first.headers.get('ratelimit')).toBe('"account";r=0;t=120')
    expect((await as('alice')).status).toBe(429)
    expect((await as('bob')).status).toBe(200)
    const anonymous = await send(`${url}/items/1`)
    expect(anonymous.status).toBe(200)
    expect(limitHeaders(anonymous)).toEqual({})
  })

  it('limits per resource by route pattern, and match narrows a rule to paths and methods', async () => {
    const rules: Rule[] = [
      {
        name: 'items',
        dimension: 'resource',
        algorithm: 'fixed-window',
        limit: 2,
        window: '1m',
        match: { path: '/items/*' },
      },
      {
        name: 'seckill',
        dimension: 'resource',
        algorithm: 'token-bucket',
        limit: 1,
        window: '10s',
        match: { path: '/api/seckill/**', methods: ['POST'] },
      },
    ]
    const { url } = await start({ options: { rules, clock: fakeClock().now } })
    expect((await send(`${url}/items/1`)).status).toBe(200)
    expect((await send(`${url}/items/2?color=red`)).status).toBe(200)
    expect((await send(`${url}/items/3`)).status).toBe(429)
    expect(limitHeaders(await send(`${url}/health`))).toEqual({})
    const bought = await send(`${url}/api/seckill/sku-1`, { method: 'POST' })
    expect(bought.status).toBe(200)
    expect(bought.headers.get('ratelimit-policy')).toBe('"seckill";q=1;w=10')
    const soldOut = await send(`${url}/api/seckill/sku-2`, { method: 'POST' })
    expect(soldOut.status).toBe(429)
    expect(soldOut.headers.get('retry-after')).toBe('10')
  })

  it('reports the rule with least remaining among four applicable rules', async () => {
    const rules: Rule[] = [
      { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 100, window: '1s' },
      { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: 10, window: '1m' },
      { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 3, window: '10s' },
      { name: 'route', dimension: ['device', 'resource'], algorithm: 'fixed-window', limit: 5, window: '1h' },
    ]
    const { url } = await start({ options: { rules, clock: fakeClock().now }, identifyByHeader: true })
    const headers = { 'x-account': 'carol', 'x-device-id': 'tablet' }
    const replies = []
    for (let i = 0; i < 4; i++) replies.push(await send(`${url}/items/1`, { headers }))
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429])
    expect(replies.map((r) => r.headers.get('ratelimit'))).toEqual([
      '"device";r=2;t=10',
      '"device";r=1;t=10',
      '"device";r=0;t=10',
      '"device";r=0;t=10',
    ])
    // All or nothing: the denied request took no quota from the other rules.
    const elsewhere = await send(`${url}/items/1`, {
      headers: { 'x-account': 'carol', 'x-device-id': 'laptop' },
    })
    expect(elsewhere.headers.get('ratelimit')).toBe('"device";r=2;t=10')
  })

  it.each([
    [
      'legacy',
      {
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '60',
        'retry-after': '60',
      },
    ],
    [
      'both',
      {
        'ratelimit-policy': '"per-device";q=2;w=60',
        ratelimit: '"per-device";r=0;t=60',
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '60',
        'retry-after': '60',
      },
    ],
    ['none', { 'retry-after': '60' }],
  ])('response.headers %s', async (style, expected) => {
    const { url } = await start({
      options: { rules: [perDevice], clock: fakeClock().now, response: { headers: style } },
    })
    await send(`${url}/health`)
    await send(`${url}/health`)
    const denied = await send(`${url}/health`)
    expect(denied.status).toBe(429)
    expect(limitHeaders(denied)).toEqual(expected)
  })

  it('takes rules and response settings from a config file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'diana-adapter-'))
    const config = join(dir, 'diana.yaml')
    await writeFile(
      config,
      [
        'version: 1',
        'response: { status: 503, headers: legacy }',
        'rules:',
        '  - { name: per-device, dimension: device, algorithm: fixed-window, limit: 1, window: 1m }',
      ].join('\n'),
    )
    try {
      const { url } = await start({ options: { config, watch: false, clock: fakeClock().now } })
      const allowed = await send(`${url}/health`)
      expect([allowed.status, limitHeaders(allowed)]).toEqual([
        200,
        { 'x-ratelimit-limit': '1', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '60' },
      ])
      expect((await send(`${url}/health`)).status).toBe(503)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('answers 503 when response.status is 503', async () => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url } = await start({ options: { rules, clock: fakeClock().now, response: { status: 503 } } })
    expect((await send(`${url}/health`)).status).toBe(200)
    const denied = await send(`${url}/health`)
    expect(denied.status).toBe(503)
    expect(JSON.parse(denied.body)).toMatchObject({
      status: 503,
      title: 'Service Unavailable',
      rule: 'per-device',
    })
    expect(denied.headers.get('retry-after')).toBe('60')
  })

  it('waits for a skip hook that answers through a bare thenable, and limits what it does not skip', async () => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url, hits } = await start({
      options: { rules, clock: fakeClock().now },
      skipByHeader: 'thenable',
    })
    expect((await send(`${url}/health`, { headers: { 'x-skip': '1' } })).status).toBe(200)
    expect((await send(`${url}/health`)).status).toBe(200)
    const limited = await send(`${url}/health`)
    expect(limited.status).toBe(429)
    expect(limitHeaders(limited)).toMatchObject({ 'retry-after': '60' })
    expect(hits.get('/health')).toBe(2)
  })

  it('limits through a store that answers with a bare thenable rather than a Promise', async () => {
    const memory = new MemoryStore({ type: 'memory' }, fakeClock().now)
    const store: Store = {
      evaluate: (request) => thenable(memory.evaluate(request) as Evaluation),
      close: () => memory.close(),
    }
    const { url, hits } = await start({ options: { rules: [{ ...perDevice, limit: 1 }], store } })
    const allowed = await send(`${url}/health`)
    expect(allowed.status).toBe(200)
    expect(limitHeaders(allowed)).toMatchObject({ ratelimit: '"per-device";r=0;t=60' })
    expect((await send(`${url}/health`)).status).toBe(429)
    expect(hits.get('/health')).toBe(1)
  })

  it('lets skipped requests through without counting them or adding headers', async () => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url } = await start({ options: { rules, clock: fakeClock().now }, skipByHeader: true })
    for (let i = 0; i < 3; i++) {
      const skipped = await send(`${url}/health`, { headers: { 'x-skip': '1' } })
      expect(skipped.status).toBe(200)
      expect(limitHeaders(skipped)).toEqual({})
    }
    expect((await send(`${url}/health`)).status).toBe(200)
    expect((await send(`${url}/health`)).status).toBe(429)
  })

  it('with skipFailedRequests, gives back the units of responses of 400 and more', async () => {
    const { url, hits } = await start({
      options: { rules: [perDevice], clock: fakeClock().now, skipFailedRequests: true },
    })
    const statuses = []
    for (const code of [500, 404, 503, 200, 200, 200])
      statuses.push((await send(`${url}/status/${code}`)).status)
    expect(statuses).toEqual([500, 404, 503, 200, 200, 429])
    expect(hits.get('/status/:code')).toBe(5)
  })

  it('with skipSuccessfulRequests, counts only responses of 400 and more', async () => {
    const { url } = await start({
      options: { rules: [perDevice], clock: fakeClock().now, skipSuccessfulRequests: true },
    })
    const statuses = []
    for (const code of [200, 201, 204, 200, 401, 401, 200])
      statuses.push((await send(`${url}/status/${code}`)).status)
    expect(statuses).toEqual([200, 201, 204, 200, 401, 401, 429])
  })

  it('hands denied requests to onLimited, with the headers already set', async () => {
    const rules: Rule[] = [{ ...perDevice, limit: 1 }]
    const { url } = await start({ options: { rules, clock: fakeClock().now }, customLimited: true })
    await send(`${url}/health`)
    const denied = await send(`${url}/health`)
    expect(denied.status).toBe(418)
    expect(denied.body).toBe('slow down per-device (on the request)')
    expect(denied.headers.get('retry-after')).toBe('60')
    expect(denied.headers.get('ratelimit')).toBe('"per-device";r=0;t=60')
  })

  it('applies a per-route override instead of the app-wide rules', async () => {
    const clock = fakeClock()
    const special: Rule[] = [
      { name: 'special', dimension: 'device', algorithm: 'fixed-window', limit: 3, window: '1s' },
    ]
    const { url, hits } = await start({
      options: { rules: [{ ...perDevice, limit: 1 }], clock: clock.now },
      special,
    })
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await send(`${url}/special`)).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(hits.get('/special')).toBe(3)
    const first = await send(`${url}/health`)
    expect([first.status, first.headers.get('ratelimit')]).toEqual([200, '"per-device";r=0;t=60'])
    clock.advance(1000)
    const again = await send(`${url}/special`)
    expect([again.status, again.headers.get('ratelimit-policy')]).toEqual([200, '"special";q=3;w=1'])
  })

  it('holds leaky-bucket requests for their delay, and refuses beyond the queue', async () => {
    // T = 1 s / 10 = 100 ms; two may wait. The clock stands still, so delays are 0, 100, 200.
    const rules: Rule[] = [
      { name: 'shape', dimension: 'global', algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 2 },
    ]
    const { url, hits } = await start({ options: { rules, clock: fakeClock().now } })
    const started = performance.now()
    const replies = await Promise.all(
      [0, 1, 2].map(async () => {
        const reply = await send(`${url}/api/seckill/x`, { method: 'POST' })
        return { status: reply.status, ms: performance.now() - started }
      }),
    )
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200])
    // Waiting is the behaviour under test: at least the longest delay must have passed.
    expect(Math.max(...replies.map((r) => r.ms))).toBeGreaterThanOrEqual(190)
    expect((await send(`${url}/api/seckill/x`, { method: 'POST' })).status).toBe(429)
    expect(hits.get('/api/seckill/:sku')).toBe(3)
  })

  it('cancels a held request when its client goes away', async () => {
    const rules: Rule[] = [
      { name: 'shape', dimension: 'global', algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5 },
    ]
    const limiter = createLimiter({ rules, clock: fakeClock().now })
    const { url, hits } = await start({ options: { limiter } })
    expect((await send(`${url}/api/seckill/x`, { method: 'POST' })).status).toBe(200)
    // Held 100 ms; the client gives up as soon as the limiter has decided.
    const abort = new AbortController()
    const decided = new Promise((resolve) => limiter.once('decision', resolve))
    const abandoned = send(`${url}/api/seckill/x`, { method: 'POST', signal: abort.signal }).catch((e) => e)
    await decided
    abort.abort()
    expect(await abandoned).toBeInstanceOf(Error)
    // Held 200 ms, so it finishes after the abandoned request's wait would have ended.
    expect((await send(`${url}/api/seckill/x`, { method: 'POST' })).status).toBe(200)
    expect(hits.get('/api/seckill/:sku')).toBe(2)
    await limiter.close()
  })

  it('answers hostile header values with an ordinary 200 or 429', async () => {
    const rules: Rule[] = [
      { name: 'pair', dimension: ['device', 'account'], algorithm: 'fixed-window', limit: 1, window: '1m' },
    ]
    const { url } = await start({ options: { rules, clock: fakeClock().now }, identifyByHeader: true })
    const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1')
    const hostile = [
      'x'.repeat(8000),
      latin1('设备😀'),
      '{user}*:|#',
      'diana:{rule|dim=value}:window',
      'inner space',
      '\t*\t',
    ]
    for (const value of hostile) {
      const once = await send(`${url}/items/1`, { headers: { 'x-device-id': value, 'x-account': value } })
      const twice = await send(`${url}/items/1`, { headers: { 'x-device-id': value, 'x-account': value } })
      expect([once.status, twice.status], JSON.stringify(value.slice(0, 20))).toEqual([200, 429])
    }
    // Values that would join into the same key if separators were not escaped stay apart.
    const pairs = [
      ['a|b', 'c'],
      ['a', 'b|c'],
      ['y'.repeat(200), 'z'],
      ['y'.repeat(128), 'z'],
    ]
    for (const [device, account] of pairs) {
      const reply = await send(`${url}/items/1`, {
        headers: { 'x-device-id': device!, 'x-account': account! },
      })
      expect(reply.status, `${device?.slice(0, 10)} ${account}`).toBe(200)
    }
  })

  it('lets requests through when the store fails, logging once', async () => {
    const warnings: string[] = []
    const failing: Store = {
      evaluate: (): Promise<Evaluation> => Promise.reject(new Error('store down')),
      close: async () => {},
    }
    const { url, hits } = await start({
      options: {
        rules: [perDevice],
        store: failing,
        logger: { warn: (message: string) => warnings.push(message) },
      },
    })
    for (let i = 0; i < 3; i++) {
      const reply = await send(`${url}/health`)
      expect(reply.status).toBe(200)
      expect(limitHeaders(reply)).toEqual({})
    }
    expect(hits.get('/health')).toBe(3)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/store down.*letting requests through/)
  })

  it('answers 503 when the failing store is set to fail closed', async () => {
    const failing: Store & { onFailure: string } = {
      onFailure: 'closed',
      evaluate: (): Promise<Evaluation> => Promise.reject(new Error('store down')),
      close: async () => {},
    }
    const { url, hits } = await start({
      options: { rules: [perDevice], store: failing, logger: { warn: () => {} } },
    })
    const reply = await send(`${url}/health`)
    expect(reply.status).toBe(503)
    expect(JSON.parse(reply.body)).toMatchObject({
      status: 503,
      type: expect.stringMatching(/store-unavailable$/),
    })
    expect(hits.get('/health')).toBeUndefined()
  })
})

/** At most two in flight; minLimit = limit keeps the learned limit fixed for these tests. */
const twoInFlight: Rule = {
  name: 'overload',
  dimension: 'global',
  algorithm: 'adaptive-concurrency',
  limit: 2,
  minLimit: 2,
}

describe.each(frameworks)('$name adapter with a concurrency rule', (framework) => {
  const start = startsApps(framework)

  /** Waits until the limiter holds `count` requests, each decided (and its handler entered). */
  async function untilHeld(url: string, count: number, signal?: AbortSignal) {
    const pending = []
    for (let i = 0; i < count; i++) {
      pending.push(send(`${url}/hang`, { headers: { 'x-priority': 'critical' }, signal }).catch((e) => e))
    }
    return pending
  }

  it('answers 503 with Retry-After when the rule is full, and releases on finish', async () => {
    let finish = () => {}
    const held = new Promise<void>((resolve) => {
      finish = resolve
    })
    const { url, hits } = await start({ options: { rules: [twoInFlight] }, held, prioritizeByHeader: true })
    const hanging = await untilHeld(url, 2)
    await expect.poll(() => hits.get('/hang')).toBe(2)
    const denied = await send(`${url}/health`, { headers: { 'x-priority': 'critical' } })
    expect(denied.status).toBe(503)
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(JSON.parse(denied.body)).toMatchObject({
      rule: 'overload',
      status: 503,
      detail: expect.stringContaining('at most 2 requests at once.'),
    })
    finish()
    expect((await Promise.all(hanging)).map((reply) => reply.status)).toEqual([200, 200])
    const after = []
    for (let i = 0; i < 4; i++)
      after.push((await send(`${url}/health`, { headers: { 'x-priority': 'critical' } })).status)
    expect(after).toEqual([200, 200, 200, 200])
  })

  it('answers 429 instead with response.overloadStatus 429', async () => {
    const { url, hits } = await start({
      options: { rules: [twoInFlight], response: { overloadStatus: 429 } },
      prioritizeByHeader: true,
    })
    await untilHeld(url, 2)
    await expect.poll(() => hits.get('/hang')).toBe(2)
    expect((await send(`${url}/health`, { headers: { 'x-priority': 'critical' } })).status).toBe(429)
  })

  it('releases when the handler fails', async () => {
    const quiet = { warn: () => {} }
    const { url } = await start({
      options: { rules: [twoInFlight], logger: quiet },
      prioritizeByHeader: true,
    })
    const statuses = []
    for (let i = 0; i < 5; i++)
      statuses.push((await send(`${url}/boom`, { headers: { 'x-priority': 'critical' } })).status)
    expect(statuses).toEqual([500, 500, 500, 500, 500])
    expect((await send(`${url}/health`, { headers: { 'x-priority': 'critical' } })).status).toBe(200)
  })

  it('a client that aborts mid-request cannot leak permits', async () => {
    const { url, hits } = await start({ options: { rules: [twoInFlight] }, prioritizeByHeader: true })
    for (let round = 1; round <= 5; round++) {
      const abort = new AbortController()
      const pending = await untilHeld(url, 2, abort.signal)
      await expect.poll(() => hits.get('/hang')).toBe(2 * round)
      abort.abort()
      await Promise.all(pending)
      await expect
        .poll(async () => (await send(`${url}/health`, { headers: { 'x-priority': 'critical' } })).status)
        .toBe(200)
    }
  })

  it('a hostile priority cannot raise a share; a failing prioritize hook is logged once', async () => {
    const warnings: string[] = []
    const logger = { warn: (message: string) => warnings.push(message) }
    // Limit 4: sheddable 2, normal 3, critical 4.
    const rules: Rule[] = [{ ...twoInFlight, limit: 4, minLimit: 4 }]
    const { url, hits } = await start({ options: { rules, logger }, prioritizeByHeader: true })
    for (const value of ['Critical', 'critical ', 'throw']) {
      send(`${url}/hang`, { headers: { 'x-priority': value } }).catch(() => {})
    }
    await expect.poll(() => hits.get('/hang')).toBe(3)
    // The three hostile requests count as normal: normal's share (3) is full, critical's is not.
    expect((await send(`${url}/health`, { headers: { 'x-priority': 'CRITICAL' } })).status).toBe(503)
    expect((await send(`${url}/health`, { headers: { 'x-priority': 'critical' } })).status).toBe(200)
    const hookWarnings = warnings.filter((message) => message.includes('prioritize hook failed'))
    expect(hookWarnings).toHaveLength(1)
  })
})
