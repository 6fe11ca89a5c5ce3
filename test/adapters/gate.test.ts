import type { ServerResponse } from 'node:http'
import { isIPv6 } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientKey, formatIPv6, isPrivateAddress, parseIPv6 } from '../../adapters/core/client-ip'
import { type Binding, Gate } from '../../adapters/core/gate'
import { canonicalResource, FOLDING_ROUTING, targetPath } from '../../adapters/core/resource-path'
import { diana as dianaExpress } from '../../adapters/express'
import { diana as dianaKoa } from '../../adapters/koa'
import type { Decision } from '../../src/decision'
import { signDeviceId } from '../../src/device-id'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import type { Subject } from '../../src/types'

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

describe('client addresses', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['0000:0000:0000:0000:0000:FFFF:CB00:7107', '203.0.113.7'],
    ['::ffff:203.0.113.7%eth0', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1::/56'],
    ['2001:0DB8:0001:00FF::', '2001:db8:1::/56'],
    ['2001:db8:ab12::1', '2001:db8:ab12::/56'],
    ['2001:db8:ab12:34ff::1', '2001:db8:ab12:3400::/56'],
    ['2001:db8::1', '2001:db8::/56'],
    ['::1', '::/56'],
    ['fe80::1%eth0', 'fe80::/56'],
    ['::203.0.113.7', '::/56'],
    ['::ffff:1.2.3.4:5', '::ffff:1.2.3.4:5'],
    ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
    ['1::2::3', '1::2::3'],
    ['::ffff:01.2.3.4', '::ffff:01.2.3.4'],
    ['12345::', '12345::'],
  ])('%s is counted as %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key)
  })

  it.each([
    [32, '2001:db8::/32'],
    [48, '2001:db8:ab12::/48'],
    [64, '2001:db8:ab12:cd34::/64'],
    [60, '2001:db8:ab12:cd30::/60'],
    [127, '2001:db8:ab12:cd34:1:2:3:4/127'],
    [128, '2001:db8:ab12:cd34:1:2:3:5'],
  ])('ipv6Subnet %i groups 2001:db8:ab12:cd34:1:2:3:5 as %s', (subnet, key) => {
    expect(clientKey('2001:db8:ab12:cd34:1:2:3:5', subnet)).toBe(key)
  })

  it('parses exactly what Node takes for IPv6, and prints one canonical text per address', () => {
    const group = fc.oneof(
      fc.constant('0'),
      fc.constant('0000'),
      fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
    )
    const full = fc.array(group, { minLength: 8, maxLength: 8 })
    fc.assert(
      fc.property(
        full,
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        (groups, at, cut, upper) => {
          // Compress a run of groups with `::` (when it keeps at least one out), maybe in upper case.
          const end = Math.min(8, at + cut)
          let text =
            end - at >= 1
              ? `${groups.slice(0, at).join(':')}::${groups.slice(end).join(':')}`
              : groups.join(':')
          if (upper) text = text.toUpperCase()
          const bytes = parseIPv6(text)
          expect(bytes === undefined, text).toBe(!isIPv6(text))
          if (bytes === undefined) return
          const canonical = formatIPv6(bytes)
          expect(isIPv6(canonical)).toBe(true)
          expect(formatIPv6(parseIPv6(canonical) as Uint8Array)).toBe(canonical)
          expect(parseIPv6(canonical)).toEqual(bytes)
        },
      ),
    )
    fc.assert(
      // Zones aside: Node checks their characters, the parser only drops them.
      fc.property(
        fc.string({ maxLength: 50 }).filter((text) => !text.includes('%')),
        (text) => {
          expect(parseIPv6(text) !== undefined).toBe(isIPv6(text) && text.length <= 45)
        },
      ),
    )
  })

  it('takes bounded time on hostile text and never throws', () => {
    const started = performance.now()
    for (const text of [
      ':'.repeat(100_000),
      `${'1:'.repeat(50_000)}1`,
      `::${'f'.repeat(100_000)}`,
      '%'.repeat(100_000),
    ]) {
      expect(() => clientKey(text)).not.toThrow()
    }
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('tells proxy-like addresses from public ones', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '::1',
      '::ffff:10.0.0.1',
      'fd00::1',
      'fe80::1%lo',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true)
    }
    for (const ip of ['203.0.113.7', '172.32.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'unknown']) {
      expect(isPrivateAddress(ip), ip).toBe(false)
    }
  })

  it('leaves text that is no address to the key hashing', () => {
    expect(parseIPv6('not:an:address')).toBeUndefined()
    expect(clientKey('')).toBeUndefined()
  })
})

describe('resource spellings', () => {
  const strict = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }
  it.each([
    ['/api/seckill/1', '/api/seckill/1', '/api/seckill/1'],
    ['/API/Seckill/1/', '/api/seckill/1', '/API/Seckill/1/'],
    ['/api/%53eckill/%31', '/api/seckill/1', '/api/Seckill/1'],
    ['/api/%2573', '/api/%73', '/api/%73'],
    ['/api/%E2%82%AC/%FF', '/api/€/%ff', '/api/€/%FF'],
    ['/', '/', '/'],
    ['//', '/', '//'],
    ['/api//x//', '/api//x', '/api//x//'],
  ])('%s is %s where routing folds, %s where it does not', (path, folded, kept) => {
    expect(canonicalResource(path, FOLDING_ROUTING)).toBe(folded)
    expect(canonicalResource(path, strict)).toBe(kept)
  })

  it('folds duplicate slashes only where the routing does', () => {
    expect(canonicalResource('//api///x', { ...strict, ignoreDuplicateSlashes: true })).toBe('/api/x')
  })

  it('decodes escapes as decodeURIComponent run by run did, bad runs and all', () => {
    // The decoding before it stopped throwing per bad run: the reference for every spelling.
    const reference = (path: string) =>
      path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
        try {
          return decodeURIComponent(run)
        } catch {
          return run
        }
      })
    // Bytes around every boundary of UTF-8 (ASCII, continuations, overlong and surrogate leads,
    // past U+10FFFF) in either case of hex, with the near misses of an escape between them.
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 0xff }),
      fc.constantFrom(0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff),
    )
    const hex = (b: number, upper: boolean) => {
      const digits = b.toString(16).padStart(2, '0')
      return `%${upper ? digits.toUpperCase() : digits}`
    }
    const anyEscape = fc.tuple(byte, fc.boolean()).map(([b, upper]) => hex(b, upper))
    // A lead byte followed by bytes at the edges of each lead's allowed second-byte range.
    const sequence = fc
      .tuple(
        fc.constantFrom(0xc1, 0xc2, 0xe0, 0xe1, 0xed, 0xee, 0xf0, 0xf1, 0xf4, 0xf5),
        fc.array(fc.constantFrom(0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.boolean(),
      )
      .map(([lead, rest, upper]) => [lead, ...rest].map((b) => hex(b, upper)).join(''))
    const validChar = fc.constantFrom('é', '€', '😀', 'ß').map((c) => encodeURIComponent(c))
    const token = fc.oneof(
      anyEscape,
      sequence,
      validChar,
      fc.constantFrom('/', 'a', 'Z', '%', '%4', '%g1', '%%41'),
    )
    const routing = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }
    fc.assert(
      fc.property(fc.array(token, { maxLength: 24 }), (tokens) => {
        const path = `/${tokens.join('')}`
        expect(canonicalResource(path, routing)).toBe(reference(path))
      }),
      { numRuns: 5000 },
    )
  })

  it.each([
    ['/api/x?y=1#z', '/api/x'],
    ['/api/x#z?y', '/api/x'],
    ['http://example.com/api/x?y', '/api/x'],
    ['http://example.com', '/'],
    ['?x', '/'],
  ])('the path of the target %s is %s', (target, path) => {
    expect(targetPath(target)).toBe(path)
  })
})

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

describe('adapter options', () => {
  it.each([
    [{ rules, response: { status: 500 } }, /response\.status must be 429 or 503/],
    // The same refusal as a config file's `response: { status: 418 }` (test/config/load-config).
    [{ rules, response: { status: 418 } }, /response\.status must be 429 or 503 \(got 418\)/],
    [{ rules, response: { headers: 'ietf' } }, /response\.headers must be one of draft, legacy, both, none/],
    [{ rules, response: { statsu: 503 } }, /unknown option "response\.statsu"; did you mean "status"/],
    [{ rules, identify: 'x-user' }, /identify must be a function/],
    [{ rules, maxDelayMs: -1 }, /maxDelayMs must be a finite number/],
    [{ rules, logger: {} }, /logger must have a warn/],
    [{ limiter: {} }, /limiter must be a Limiter/],
    [{ limiter: createLimiter({ rules }), rules }, /either a built limiter or the options to build one/],
    [{ rules, identfy: () => 'a' }, /unknown option "identfy"; did you mean "identify"/],
    [{ rules, stor: { type: 'memory' } }, /unknown option "stor"; did you mean "store"/],
    [{ rules, routing: true }, /routing must be an object/],
    [
      { rules, routing: { caseSensitve: true } },
      /unknown option "routing\.caseSensitve"; did you mean "caseSensitive"/,
    ],
    [{ rules, routing: { caseSensitive: 'yes' } }, /routing\.caseSensitive must be true or false/],
    [{ rules, ipv6Subnet: 31 }, /ipv6Subnet must be a whole number of bits from 32 to 128 \(got 31\)/],
    [{ rules, ipv6Subnet: 129 }, /ipv6Subnet must be a whole number of bits from 32 to 128/],
    [{ rules, ipv6Subnet: 56.5 }, /ipv6Subnet must be a whole number/],
    [{ rules, ipv6Subnet: '56' }, /ipv6Subnet must be a whole number/],
    [{ rules, deviceHeader: 'x device' }, /deviceHeader must be a header name/],
    [{ rules, deviceHeader: true }, /deviceHeader must be a header name .* or false/],
    [{ rules, deviceSecret: 'short' }, /deviceSecret must be at least 16 bytes \(got 5\)/],
    [{ rules, deviceSecret: 42 }, /deviceSecret must be a string or a Buffer/],
    [{ rules, identifyDevice: 'x-device' }, /identifyDevice must be a function/],
    [{ rules, proxyWarnings: 'no' }, /proxyWarnings must be true or false/],
    [{ rules, ipv6subnet: 64 }, /unknown option "ipv6subnet"; did you mean "ipv6Subnet"/],
    [
      { rules, windowMs: 60_000 },
      /unknown option "windowMs" \(an express-rate-limit option: in Diana a rule sets window: '15m', see docs\/coming-from\.md#express-rate-limit\)/,
    ],
    [
      { rules, points: 5 },
      /unknown option "points" \(a rate-limiter-flexible option: .*coming-from\.md#rate-limiter-flexible\)/,
    ],
    [
      { rules, timeWindow: 1000 },
      /unknown option "timeWindow" \(a @fastify\/rate-limit option: .*coming-from\.md#fastifyrate-limit\)/,
    ],
  ])('rejects %j with a TypeError naming the option', (options, message) => {
    expect(() => dianaExpress(options as never)).toThrow(TypeError)
    expect(() => dianaExpress(options as never)).toThrow(message)
    expect(() => dianaKoa(options as never)).toThrow(message)
  })
})
