import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import { type Binding, Gate } from '../../../adapters/core/gate'
import { FOLDING_ROUTING } from '../../../adapters/core/resource-path'
import type { Decision } from '../../../src/decision'
import { signDeviceId } from '../../../src/device-id'
import { createLimiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import type { Subject } from '../../../src/types'

interface FakeRequest {
  ip?: string
  headers: Record<string, string>
  path: string
  rateLimit?: Decision
}
const binding: Binding<FakeRequest, Record<string, string>> = {
  clientIp: (req) => req.ip,
  header: (req, name) => req.headers[name],
  route: () => undefined,
  path: (req) => req.path,
  routing: () => FOLDING_ROUTING,
  method: () => 'GET',
  attach: (req, decision) => {
    req.rateLimit = decision
  },
  proxySetting: 'the test setting',
  setHeader: (res, name, value) => {
    res[name] = value
  },
  responded: () => false,
  sendProblem: (res, status, body) => {
    res[':status'] = String(status)
    res[':body'] = body
  },
  raw: () => ({ destroyed: false, writableEnded: false }) as ServerResponse,
}
const rules: Rule[] = [
  { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1m' },
]

describe('the shared gate', () => {
  it('waits for an asynchronous identify', async () => {
    const gate = new Gate({ rules, identify: async (req: FakeRequest) => req.headers.user }, binding, 'test')
    const subject = (await gate.subject({ headers: { user: 'ann' }, path: '/x', ip: '10.0.0.1' })) as Subject
    expect(subject).toMatchObject({ account: 'ann', device: 'a:10.0.0.1', resource: '/x', method: 'GET' })
    const res: Record<string, string> = {}
    expect(await gate.handle({ headers: { user: 'ann' }, path: '/x', ip: '10.0.0.1' }, res)).toBe(true)
    expect(await gate.handle({ headers: { user: 'ann' }, path: '/x', ip: '10.0.0.1' }, res)).toBe(false)
    expect(res[':status']).toBe('429')
    await gate.close()
  })

  it("describes an override's own limit and window in RateLimit-Policy", async () => {
    const overridden: Rule[] = [
      { ...(rules[0] as Rule), overrides: [{ values: ['vip'], limit: 50, window: '1h' }] },
    ]
    const gate = new Gate(
      { rules: overridden, identify: (req: FakeRequest) => req.headers.user },
      binding,
      'test',
    )
    const policy = async (user: string) => {
      const res: Record<string, string> = {}
      await gate.handle({ headers: { user }, path: '/x', ip: '10.0.0.1' }, res)
      return res['RateLimit-Policy']
    }
    expect(await policy('vip')).toBe('"account";q=50;w=3600')
    expect(await policy('ann')).toBe('"account";q=1;w=60')
    expect(await policy('vip')).toBe('"account";q=50;w=3600')
    await gate.close()
  })

  it('applies a resource override written with capitals where routing folds case, as match.path does', async () => {
    const gate = new Gate(
      {
        rules: [
          {
            name: 'per-resource',
            dimension: 'resource',
            algorithm: 'fixed-window',
            limit: 100,
            window: '1m',
            overrides: [{ values: ['/Admin/Export', '/Reports/*'], limit: 1 }],
          },
        ],
      },
      binding,
      'test',
    )
    for (const path of ['/Admin/Export', '/reports/daily']) {
      expect(await gate.handle({ headers: {}, path, ip: '10.0.0.1' }, {})).toBe(true)
      expect(await gate.handle({ headers: {}, path, ip: '10.0.0.1' }, {})).toBe(false)
    }
    await gate.close()
  })

  it('puts the decision on the request, denied ones too', async () => {
    const gate = new Gate({ rules, identify: (req: FakeRequest) => req.headers.user }, binding, 'test')
    const first: FakeRequest = { headers: { user: 'ann' }, path: '/x', ip: '10.0.0.1' }
    expect(await gate.handle(first, {})).toBe(true)
    expect(first.rateLimit).toMatchObject({ allowed: true, rule: 'account', remaining: 0 })
    const second: FakeRequest = { headers: { user: 'ann' }, path: '/x', ip: '10.0.0.1' }
    expect(await gate.handle(second, {})).toBe(false)
    expect(second.rateLimit).toMatchObject({ allowed: false, rule: 'account' })
    await gate.close()
  })

  it('counts a signed device header by its ID, anything else by the address', () => {
    const secret = Buffer.alloc(16, 7)
    const gate = new Gate({ rules, deviceSecret: secret }, binding, 'test')
    const device = (value: string) =>
      (gate.subject({ headers: { 'x-device-id': value }, path: '/', ip: '2001:db8::1' }) as Subject).device
    expect(device(signDeviceId('phone', secret))).toBe('h:phone')
    expect(device(signDeviceId('a.b.c', secret))).toBe('h:a.b.c')
    expect(device('phone')).toBe('a:2001:db8::/56')
    expect(device(signDeviceId('phone', Buffer.alloc(16, 8)))).toBe('a:2001:db8::/56')
  })

  it('closes a limiter it built, never one it was given', async () => {
    const given = createLimiter({ rules })
    await new Gate({ limiter: given }, binding, 'test').close()
    await expect(given.check({ account: 'a' })).resolves.toMatchObject({ allowed: true })
    const built = new Gate({ rules }, binding, 'test')
    await built.close()
    await expect(built.limiter.check({ account: 'a' })).rejects.toThrow(/closed/)
  })
})
