import { describe, expect, it } from 'vitest'
import { createLimiter, type LimiterOptions } from '../src/limiter'
import { peerHint } from '../src/peer-options'

const rules = [{ name: 'r', dimension: 'global', algorithm: 'fixed-window', limit: 1, window: '1s' }]

describe('option names of other limiters', () => {
  it.each([
    ['windowMs', 'an express-rate-limit option', '#express-rate-limit'],
    ['max', 'an express-rate-limit option', '#express-rate-limit'],
    ['keyGenerator', 'an express-rate-limit option', '#express-rate-limit'],
    ['points', 'a rate-limiter-flexible option', '#rate-limiter-flexible'],
    ['blockDuration', 'a rate-limiter-flexible option', '#rate-limiter-flexible'],
    ['timeWindow', 'a @fastify/rate-limit option', '#fastifyrate-limit'],
    ['allowList', 'a @fastify/rate-limit option', '#fastifyrate-limit'],
  ])('createLimiter points %s to the "Coming from" page', (name, peer, anchor) => {
    const options = { rules, [name]: 1 } as unknown as LimiterOptions
    expect(() => createLimiter(options)).toThrow(TypeError)
    expect(() => createLimiter(options)).toThrow(
      `createLimiter: unknown option "${name}" (${peer}: in Diana `,
    )
    expect(() => createLimiter(options)).toThrow(`see docs/coming-from.md${anchor})`)
  })

  it('leaves names Diana uses itself, and misspellings of its own, to the usual hint', () => {
    for (const name of [
      'store',
      'skip',
      'logger',
      'ipv6Subnet',
      'skipFailedRequests',
      'skipSuccessfulRequests',
    ]) {
      expect(peerHint(name), name).toBe('')
    }
    expect(() => createLimiter({ rules, rulse: [] } as unknown as LimiterOptions)).toThrow(
      'unknown option "rulse"; did you mean "rules"?',
    )
  })
})
