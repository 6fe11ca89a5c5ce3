import type { ServerResponse } from 'node:http'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientKey, prefix64 } from '../../adapters/core/client-ip'
import { type Binding, Gate } from '../../adapters/core/gate'
import { canonicalResource, FOLDING_ROUTING, targetPath } from '../../adapters/core/resource-path'
import { diana as dianaExpress } from '../../adapters/express'
import { diana as dianaKoa } from '../../adapters/koa'
import { createLimiter } from '../../src/limiter'
import type { Rule, Subject } from '../../src/types'

interface FakeRequest {
  ip?: string
  headers: Record<string, string>
  path: string
}
const binding: Binding<FakeRequest, Record<string, string>> = {
  clientIp: (req) => req.ip,
  header: (req, name) => req.headers[name],
  route: () => undefined,
  path: (req) => req.path,
  routing: () => FOLDING_ROUTING,
  method: () => 'GET',
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
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:1.2.3.4:5', '::ffff:1.2.3.4:5'],
  ])('%s is counted as %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key)
  })

  it('leaves text that is no address to the key hashing', () => {
    expect(prefix64('not:an:address')).toBeUndefined()
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
  ])('rejects %j with a TypeError naming the option', (options, message) => {
    expect(() => dianaExpress(options as never)).toThrow(TypeError)
    expect(() => dianaExpress(options as never)).toThrow(message)
    expect(() => dianaKoa(options as never)).toThrow(message)
  })
})
