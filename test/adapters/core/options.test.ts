import { describe, expect, it } from 'vitest'
import { diana as dianaExpress } from '../../../adapters/express'
import { diana as dianaKoa } from '../../../adapters/koa'
import { createLimiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'

const rules: Rule[] = [
  { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1m' },
]

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
