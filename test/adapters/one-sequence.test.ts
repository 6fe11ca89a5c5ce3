import { writeFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/rules/rule'
import { frameworks } from './support/apps'
import { fakeClock, send } from './support/http'

/**
 * One request sequence through the second-wave features (an override for VIP accounts,
 * blockFor, skipFailedRequests, the decision on the request, reset), on every framework: the
 * transcripts of statuses and headers must be identical. With DIANA_SEQUENCE_OUT set, the
 * transcript is also written there (the issue's closing note quotes it).
 */
const rules: Rule[] = [
  {
    name: 'per-account',
    dimension: 'account',
    algorithm: 'fixed-window',
    limit: 3,
    window: '1m',
    blockFor: '5m',
    overrides: [{ values: ['vip-*'], limit: 5 }],
  },
]

type Step = { account: string; path: string; advanceMs?: number; reset?: boolean }

const steps: Step[] = [
  { account: 'ann', path: '/status/200' },
  { account: 'ann', path: '/status/500' },
  { account: 'ann', path: '/status/200' },
  { account: 'ann', path: '/status/200' },
  { account: 'ann', path: '/status/200' },
  { account: 'ann', path: '/status/200', advanceMs: 61_000 },
  { account: 'vip-7', path: '/decision' },
  { account: 'ann', path: '/status/200', reset: true },
]

async function transcript(framework: (typeof frameworks)[number]): Promise<string[]> {
  const clock = fakeClock()
  const app = await framework.start({
    options: { rules, clock: clock.now, skipFailedRequests: true },
    identifyByHeader: true,
  })
  try {
    const lines: string[] = []
    for (const step of steps) {
      if (step.advanceMs) clock.advance(step.advanceMs)
      if (step.reset) await app.limiter.reset({ account: step.account })
      const reply = await send(`${app.url}${step.path}`, { headers: { 'x-account': step.account } })
      const header = (name: string) => reply.headers.get(name) ?? '-'
      const decision = step.path === '/decision' ? ` body.limit=${JSON.parse(reply.body).limit}` : ''
      lines.push(
        `${step.reset ? '(reset) ' : ''}${step.advanceMs ? `(+${step.advanceMs / 1000}s) ` : ''}${step.account} GET ${step.path} → ${reply.status} | RateLimit-Policy: ${header('ratelimit-policy')} | RateLimit: ${header('ratelimit')} | Retry-After: ${header('retry-after')}${decision}`,
      )
    }
    return lines
  } finally {
    await app.close()
  }
}

describe('one request sequence on every framework', () => {
  it('gives the same statuses and headers on Express, Fastify and Koa', async () => {
    const all = new Map<string, string[]>()
    for (const framework of frameworks) all.set(framework.name, await transcript(framework))
    const [first, ...others] = [...all.values()] as [string[], ...string[][]]
    for (const other of others) expect(other).toEqual(first)
    const statuses = first.map((line) => Number(/→ (\d+)/.exec(line)?.[1]))
    // The 500 is given back (skipFailedRequests), so the third unit goes to the fourth request;
    // the fifth is denied and blocked for 5 minutes, still blocked after the window ends; the
    // VIP has its own limit of 5; reset lifts the block.
    expect(statuses).toEqual([200, 500, 200, 200, 429, 429, 200, 200])
    expect(first[4]).toContain('Retry-After: 300')
    expect(first[5]).toContain('Retry-After: 239')
    expect(first[6]).toContain('"per-account";q=5;w=60')
    expect(first[6]).toContain('body.limit=5')
    const out = process.env.DIANA_SEQUENCE_OUT
    if (out) await writeFile(out, `${[...all.keys()].join(', ')}:\n${first.join('\n')}\n`)
  })
})
