import { afterEach, describe, expect, it } from 'vitest'
import type { Decision } from '../../../src/decision'
import { createLimiter, type Limiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import { startRlsServer } from '../../../src/serve/grpc/rls-server'
import { createFakeClock } from '../../support/fake-clock'
import { type Descriptor, type RlsClient, rlsClient } from './rls-client'

/** What an Envoy route's actions send: `generic_key`, `remote_address`, request header keys. */
const MAPPING = { remote_address: 'ip', account_id: 'account', path: 'resource' }

/** Midnight UTC: fixed windows (aligned to the epoch) start afresh, so resets are whole windows. */
const MIDNIGHT = 1_699_920_000_000

const opened: Array<{ close(): unknown }> = []

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close()
})

async function serve(rules: Rule[], domains?: string[]): Promise<{ client: RlsClient; limiter: Limiter }> {
  const limiter = createLimiter({ rules, clock: createFakeClock(MIDNIGHT) })
  opened.push(limiter)
  const server = await startRlsServer({ address: '127.0.0.1:0', limiter, descriptors: MAPPING, domains })
  opened.push(server)
  const client = rlsClient(server.address)
  opened.push(client)
  return { client, limiter }
}

/** `(generic_key=api, remote_address=IP)`: Envoy's `generic_key` then `remote_address` actions. */
function byAddress(ip: string): Descriptor {
  return {
    entries: [
      { key: 'generic_key', value: 'api' },
      { key: 'remote_address', value: ip },
    ],
  }
}

/** `(account_id=ID, path=PATH)`: two `request_headers` actions (x-account-id, :path). */
function byAccount(account: string, path = '/orders'): Descriptor {
  return {
    entries: [
      { key: 'account_id', value: account },
      { key: 'path', value: path },
    ],
  }
}

function headers(reply: {
  response_headers_to_add: Array<{ key: string; value: string }>
}): Record<string, string> {
  return Object.fromEntries(reply.response_headers_to_add.map((header) => [header.key, header.value]))
}

describe('ShouldRateLimit', () => {
  it('answers OK until the quota is spent, then OVER_LIMIT with the binding status and headers', async () => {
    const { client } = await serve([
      { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 3, window: '1m' },
      { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 100, window: '1h' },
    ])
    const request = { domain: 'edge', descriptors: [byAccount('acme'), byAddress('10.0.0.1')] }
    const codes: string[] = []
    for (let i = 0; i < 3; i++) codes.push((await client.shouldRateLimit(request)).overall_code)
    expect(codes).toEqual(['OK', 'OK', 'OK'])

    const denied = await client.shouldRateLimit(request)
    expect(denied.overall_code).toBe('OVER_LIMIT')
    expect(denied.statuses).toHaveLength(2)
    // The account descriptor is fine; the address descriptor holds the denying rule.
    expect(denied.statuses[0]?.code).toBe('OK')
    expect(denied.statuses[0]?.current_limit).toBeNull()
    expect(denied.statuses[1]).toEqual({
      code: 'OVER_LIMIT',
      current_limit: { name: 'per-ip', requests_per_unit: 3, unit: 'MINUTE' },
      limit_remaining: 0,
      duration_until_reset: { seconds: 60, nanos: 0 },
      quota: null,
    })
    expect(headers(denied)).toEqual({
      'RateLimit-Policy': '"per-ip";q=3;w=60',
      RateLimit: '"per-ip";r=0;t=60',
      'Retry-After': '60',
    })
  })

  it('reports an allowed call on the descriptor of the rule with the least remaining', async () => {
    const { client } = await serve([
      { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 50, window: '1s' },
      {
        name: 'per-account',
        dimension: ['account', 'resource'],
        algorithm: 'fixed-window',
        limit: 5,
        window: '1d',
      },
    ])
    const reply = await client.shouldRateLimit({
      domain: 'edge',
      descriptors: [byAddress('10.0.0.1'), byAccount('acme')],
    })
    expect(reply.overall_code).toBe('OK')
    expect(reply.statuses.map((status) => status.code)).toEqual(['OK', 'OK'])
    expect(reply.statuses[0]?.current_limit).toBeNull()
    expect(reply.statuses[1]?.current_limit).toEqual({
      name: 'per-account',
      requests_per_unit: 5,
      unit: 'DAY',
    })
    expect(reply.statuses[1]?.limit_remaining).toBe(4)
    expect(headers(reply)).toEqual({
      'RateLimit-Policy': '"per-account";q=5;w=86400',
      RateLimit: '"per-account";r=4;t=86400',
    })
  })

  it('reports on the descriptor of the rules in force at once after setRules, same rule names', async () => {
    const { client, limiter } = await serve([
      { name: 'tight', dimension: 'ip', algorithm: 'fixed-window', limit: 5, window: '1m' },
    ])
    const request = { domain: 'edge', descriptors: [byAccount('acme'), byAddress('10.0.0.1')] }
    const before = await client.shouldRateLimit(request)
    expect(before.statuses.map((status) => status.current_limit?.name ?? null)).toEqual([null, 'tight'])
    // The same name now counts per account: its status belongs on the account descriptor.
    limiter.setRules([
      { name: 'tight', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: '1m' },
    ])
    const after = await client.shouldRateLimit(request)
    expect(after.statuses.map((status) => status.current_limit?.name ?? null)).toEqual(['tight', null])
  })

  it('checks every descriptor at once: a denied call consumes nothing in the rules that allowed it', async () => {
    const { client } = await serve([
      { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 3, window: '1m' },
      { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 2, window: '1m' },
    ])
    const call = (account: string) =>
      client.shouldRateLimit({ domain: 'edge', descriptors: [byAddress('10.0.0.1'), byAccount(account)] })
    expect((await call('acme')).overall_code).toBe('OK')
    expect((await call('acme')).overall_code).toBe('OK')
    const denied = await call('acme')
    expect(denied.overall_code).toBe('OVER_LIMIT')
    expect(denied.statuses.map((status) => status.code)).toEqual(['OK', 'OVER_LIMIT'])
    expect(denied.statuses[1]?.current_limit?.name).toBe('per-account')
    // The address spent 2 of 3 (the denied call took nothing): one more account may pass once.
    const other = await call('globex')
    expect(other.overall_code).toBe('OK')
    expect(other.statuses[0]?.current_limit?.name).toBe('per-ip')
    expect(other.statuses[0]?.limit_remaining).toBe(0)
    expect((await call('globex')).overall_code).toBe('OVER_LIMIT')
  })

  it('answers OK for a shadow rule that would deny, and the limiter counts it', async () => {
    const { client, limiter } = await serve([
      { name: 'trial', dimension: 'ip', algorithm: 'fixed-window', limit: 1, window: '1m', shadow: true },
    ])
    const shadowDenied: Array<string[] | undefined> = []
    limiter.on('decision', (decision: Decision) => shadowDenied.push(decision.shadowDenied))
    const request = { domain: 'edge', descriptors: [byAddress('10.0.0.9')] }
    const codes: string[] = []
    for (let i = 0; i < 3; i++) codes.push((await client.shouldRateLimit(request)).overall_code)
    expect(codes).toEqual(['OK', 'OK', 'OK'])
    expect(shadowDenied).toEqual([undefined, ['trial'], ['trial']])
  })

  it('charges hits_addend units (0 means 1), on the request or on a descriptor', async () => {
    const { client } = await serve([
      { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 10, window: '1m' },
    ])
    const call = (hits: number) =>
      client.shouldRateLimit({ domain: 'edge', descriptors: [byAddress('10.0.0.2')], hits_addend: hits })
    expect((await call(4)).statuses[0]?.limit_remaining).toBe(6)
    expect((await call(4)).statuses[0]?.limit_remaining).toBe(2)
    const denied = await call(4)
    expect(denied.overall_code).toBe('OVER_LIMIT')
    expect(denied.statuses[0]?.limit_remaining).toBe(2)
    expect((await call(0)).statuses[0]?.limit_remaining).toBe(1)
    const perDescriptor = await client.shouldRateLimit({
      domain: 'edge',
      descriptors: [{ ...byAddress('10.0.0.2'), hits_addend: { value: 1 } }],
      hits_addend: 9,
    })
    expect(perDescriptor.overall_code).toBe('OK')
    expect(perDescriptor.statuses[0]?.limit_remaining).toBe(0)
  })

  it('reports a window Envoy has no unit for as UNKNOWN, and an override with its own window', async () => {
    const { client } = await serve([
      {
        name: 'per-account',
        dimension: 'account',
        algorithm: 'sliding-window',
        limit: 20,
        window: '10s',
        overrides: [{ values: ['vip-*'], limit: 1000, window: '1h' }],
      },
    ])
    const plain = await client.shouldRateLimit({ domain: 'edge', descriptors: [byAccount('acme')] })
    expect(plain.statuses[0]?.current_limit).toEqual({
      name: 'per-account',
      requests_per_unit: 20,
      unit: 'UNKNOWN',
    })
    expect(headers(plain)['RateLimit-Policy']).toBe('"per-account";q=20;w=10')
    const vip = await client.shouldRateLimit({ domain: 'edge', descriptors: [byAccount('vip-1')] })
    expect(vip.statuses[0]?.current_limit).toEqual({
      name: 'per-account',
      requests_per_unit: 1000,
      unit: 'HOUR',
    })
    expect(headers(vip)['RateLimit-Policy']).toBe('"per-account";q=1000;w=3600')
  })

  it('reads a path entry as a path: a query string or another spelling is the same resource', async () => {
    const { client } = await serve([
      {
        name: 'orders',
        dimension: 'ip',
        algorithm: 'fixed-window',
        limit: 2,
        window: '1h',
        match: { path: '/orders' },
      },
    ])
    const spellings = ['/orders?page=1', '/x/../orders?page=2', '/Orders/', '//orders?x']
    const codes: string[] = []
    for (const path of spellings) {
      const descriptors = [byAddress('10.0.0.9'), byAccount('acme', path)]
      codes.push((await client.shouldRateLimit({ domain: 'edge', descriptors })).overall_code)
    }
    expect(codes).toEqual(['OK', 'OK', 'OVER_LIMIT', 'OVER_LIMIT'])
  })

  it('answers OK with no limit and no headers when no rule applies', async () => {
    const { client } = await serve([
      { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1m' },
    ])
    const reply = await client.shouldRateLimit({
      domain: 'edge',
      descriptors: [{ entries: [{ key: 'generic_key', value: 'health' }] }],
    })
    expect(reply.overall_code).toBe('OK')
    expect(reply.statuses).toEqual([
      { code: 'OK', current_limit: null, limit_remaining: 0, duration_until_reset: null, quota: null },
    ])
    expect(reply.response_headers_to_add).toEqual([])
  })

  it('refuses a domain it does not serve with INVALID_ARGUMENT', async () => {
    const { client } = await serve(
      [{ name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 5, window: '1m' }],
      ['edge'],
    )
    await expect(
      client.shouldRateLimit({ domain: 'other', descriptors: [byAddress('10.0.0.1')] }),
    ).rejects.toMatchObject({ code: 3, details: 'unknown domain "other"' })
    expect(
      (await client.shouldRateLimit({ domain: 'edge', descriptors: [byAddress('10.0.0.1')] })).overall_code,
    ).toBe('OK')
  })
})

describe('ShouldRateLimit with a hostile client', () => {
  const rules: Rule[] = [
    { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 1000, window: '1m' },
  ]
  const INVALID_ARGUMENT = 3
  const RESOURCE_EXHAUSTED = 8

  async function stillAnswers(client: RlsClient): Promise<void> {
    const reply = await client.shouldRateLimit({ domain: 'edge', descriptors: [byAddress('10.0.0.1')] })
    expect(reply.overall_code).toBe('OK')
  }

  it.each([
    ['an empty request', {}, 'domain is required'],
    ['no descriptors', { domain: 'edge', descriptors: [] }, 'at least one descriptor is required'],
    [
      'a descriptor without entries',
      { domain: 'edge', descriptors: [{ entries: [] }] },
      'descriptor 0 has no entries',
    ],
    [
      'an entry without a key',
      { domain: 'edge', descriptors: [{ entries: [{ key: '', value: '10.0.0.1' }] }] },
      'descriptor 0: every entry needs a key',
    ],
    [
      '33 descriptors',
      { domain: 'edge', descriptors: Array.from({ length: 33 }, () => byAddress('10.0.0.1')) },
      'more than 32 descriptors',
    ],
    [
      '17 entries in a descriptor',
      {
        domain: 'edge',
        descriptors: [{ entries: Array.from({ length: 17 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }],
      },
      'descriptor 0 has more than 16 entries',
    ],
    [
      'a 129-character key',
      { domain: 'edge', descriptors: [{ entries: [{ key: 'k'.repeat(129), value: 'v' }] }] },
      'descriptor 0: an entry key is longer than 128',
    ],
  ])('refuses %s with INVALID_ARGUMENT and keeps answering', async (_name, request, details) => {
    const { client } = await serve(rules)
    await expect(client.shouldRateLimit(request)).rejects.toMatchObject({ code: INVALID_ARGUMENT, details })
    await stillAnswers(client)
  })

  it.each([
    ['a 1025-character value', [byAccount('a'.repeat(1025))]],
    ['two addresses for one request', [byAddress('10.0.0.1'), byAddress('10.0.0.2')]],
    // Newer Envoy can take a descriptor's hits_addend from the request (a header, metadata):
    // a cost no limit can allow, or costs that disagree, must not become an error Envoy lets pass.
    ['a hits_addend beyond uint32', [{ ...byAddress('10.0.0.1'), hits_addend: { value: 2 ** 40 } }]],
    [
      'descriptors with different hits_addend',
      [
        { ...byAddress('10.0.0.1'), hits_addend: { value: 1 } },
        { ...byAccount('acme'), hits_addend: { value: 2 } },
      ],
    ],
  ])(
    'denies %s (OVER_LIMIT, not an error Envoy would let through) and keeps answering',
    async (_name, descriptors) => {
      const { client } = await serve(rules)
      const reply = await client.shouldRateLimit({ domain: 'edge', descriptors })
      expect(reply.overall_code).toBe('OVER_LIMIT')
      expect(reply.statuses).toHaveLength(descriptors.length)
      for (const status of reply.statuses) expect(status.code).toBe('OVER_LIMIT')
      await stillAnswers(client)
    },
  )

  it('reads an empty entry value (an empty header Envoy passes on) as absent: the other limits still apply', async () => {
    // Envoy's request_headers action sends a header that is present but empty as an entry with
    // an empty value. Refusing the call would let Envoy pass the request (failure_mode_deny is
    // false by default) past every rule, the per-address one included.
    const { client } = await serve([
      { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 1, window: '1m' },
      { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 100, window: '1m' },
    ])
    const request = {
      domain: 'edge',
      descriptors: [
        byAddress('10.0.0.9'),
        {
          entries: [
            { key: 'account_id', value: '' },
            { key: 'path', value: '/orders' },
          ],
        },
      ],
    }
    const first = await client.shouldRateLimit(request)
    expect(first.overall_code).toBe('OK')
    expect(first.statuses[0]?.current_limit?.name).toBe('per-ip')
    expect((await client.shouldRateLimit(request)).overall_code).toBe('OVER_LIMIT')
  })

  it('keys IPv6 addresses by their /56 and ::ffff:a.b.c.d as the IPv4 address, as the adapters do', async () => {
    // One client is handed a /56 (or a /48, a /64) and picks any address in it: keyed per
    // address, it would mint a fresh per-ip bucket for every request.
    const { client } = await serve([
      { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 1, window: '1m' },
    ])
    const code = async (ip: string) =>
      (await client.shouldRateLimit({ domain: 'edge', descriptors: [byAddress(ip)] })).overall_code
    expect(await code('2001:db8:ab00:1::1')).toBe('OK')
    expect(await code('2001:db8:ab00:ff::2')).toBe('OVER_LIMIT')
    expect(await code('2001:DB8:AB00:00ff:0:0:0:3')).toBe('OVER_LIMIT')
    expect(await code('2001:db8:ab01::1')).toBe('OK')
    expect(await code('203.0.113.7')).toBe('OK')
    expect(await code('::ffff:203.0.113.7')).toBe('OVER_LIMIT')
  })

  it('refuses a message over 64 KiB unread, and keeps answering', async () => {
    const { client } = await serve(rules)
    const huge = { domain: 'edge', descriptors: [byAccount('x'.repeat(100_000))] }
    await expect(client.shouldRateLimit(huge)).rejects.toMatchObject({ code: RESOURCE_EXHAUSTED })
    await stillAnswers(client)
  })

  it('survives bytes that are not a RateLimitRequest, and keeps answering', async () => {
    const { client } = await serve(rules)
    await expect(client.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]))).rejects.toMatchObject({
      code: expect.any(Number),
    })
    await stillAnswers(client)
  })

  it('ignores entry keys that name no mapping, such as __proto__ and constructor', async () => {
    const { client } = await serve(rules)
    const reply = await client.shouldRateLimit({
      domain: 'edge',
      descriptors: [
        {
          entries: [
            { key: '__proto__', value: 'x' },
            { key: 'constructor', value: 'y' },
            { key: 'remote_address', value: '10.0.0.3' },
          ],
        },
      ],
    })
    expect(reply.overall_code).toBe('OK')
    expect(reply.statuses[0]?.current_limit?.name).toBe('per-ip')
    expect(reply.statuses[0]?.limit_remaining).toBe(999)
  })

  it('answers UNAVAILABLE once its limiter is closed, so Envoy applies failure_mode_deny', async () => {
    const { client, limiter } = await serve(rules)
    await limiter.close()
    await expect(
      client.shouldRateLimit({ domain: 'edge', descriptors: [byAddress('10.0.0.1')] }),
    ).rejects.toMatchObject({ code: 14, details: 'limiter is closed' })
  })
})

describe('startRlsServer', () => {
  it('listens on the port it reports and stops taking calls once closed', async () => {
    const limiter = createLimiter({
      rules: [{ name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 5, window: '1m' }],
    })
    opened.push(limiter)
    const server = await startRlsServer({ address: '127.0.0.1:0', limiter, descriptors: MAPPING })
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/)
    const client = rlsClient(server.address)
    opened.push(client)
    expect(
      (await client.shouldRateLimit({ domain: 'd', descriptors: [byAddress('10.0.0.1')] })).overall_code,
    ).toBe('OK')
    await server.close()
    await expect(
      client.shouldRateLimit({ domain: 'd', descriptors: [byAddress('10.0.0.1')] }),
    ).rejects.toMatchObject({
      code: 14,
    })
  })

  it('refuses a mapping that names no subject field', async () => {
    const limiter = createLimiter({ rules: [] })
    opened.push(limiter)
    await expect(
      startRlsServer({ address: '127.0.0.1:0', limiter, descriptors: { remote_address: '' } }),
    ).rejects.toThrow('startRlsServer: descriptors.remote_address must name a subject field')
  })
})
