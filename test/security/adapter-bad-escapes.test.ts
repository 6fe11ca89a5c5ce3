import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { diana as dianaHono } from '../../adapters/hono'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, rawStatus } from '../adapters/support/http'

// Review finding: the resource of a request is its path with percent-encoding decoded, and a
// run of escapes that is not UTF-8 was found out by a thrown and caught URIError, one per run.
// A 12 KB path of `/%FF` (3,000 bad runs) took about 20 ms of event loop per request app-wide
// against under 1 ms for a plain path: a cheap way for one client to stall every other one.
const perResource: Rule = {
  name: 'per-resource',
  dimension: 'resource',
  algorithm: 'fixed-window',
  limit: 1_000_000,
  window: '1m',
}

const LENGTH = 12_000
const plain = '/abc'.repeat(LENGTH / 4)
const badEscapes = '/%FF'.repeat(LENGTH / 4)
// Bad runs that get past a one-escape shortcut: a valid lead byte whose sequence breaks off.
const brokenSequences = '/%E2%82%28'.repeat(LENGTH / 10)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** Milliseconds of one request, from connecting to the closed connection. */
async function timed(url: string, target: string): Promise<number> {
  const started = process.hrtime.bigint()
  await rawStatus(url, target)
  return Number(process.hrtime.bigint() - started) / 1e6
}

// Hono decodes the path itself before any middleware runs (hono/utils/url `getPath`), and
// that costs about 50 ms for this path with or without Diana: Hono's own cost, checked below
// as "Diana adds nothing to it" rather than against a plain path.
const decodingItself = (name: string) => name.startsWith('hono')

describe.each(frameworks.filter((framework) => !decodingItself(framework.name)))(
  '$name: a path full of bad escapes',
  (framework) => {
    const start = startsApps(framework)

    it('costs about what a plain path of the same length does, mounted app-wide', async () => {
      const { url } = await start({
        options: { rules: [perResource], clock: fakeClock().now },
        appWide: true,
      })
      const times: Record<'plain' | 'bad' | 'broken', number[]> = { plain: [], bad: [], broken: [] }
      // Interleaved, so a slow moment of a shared machine falls on all three alike; warmed up first.
      for (let round = 0; round < 25; round++) {
        const plainTime = await timed(url, plain)
        const badTime = await timed(url, badEscapes)
        const brokenTime = await timed(url, brokenSequences)
        if (round < 5) continue
        times.plain.push(plainTime)
        times.bad.push(badTime)
        times.broken.push(brokenTime)
      }
      const baseline = median(times.plain)
      // A generous factor: the fixed cost is a few microseconds per run against a millisecond of
      // HTTP per request; exceptions per run made it twenty times the baseline.
      expect(median(times.bad), JSON.stringify({ baseline, bad: median(times.bad) })).toBeLessThan(
        3 * baseline,
      )
      expect(median(times.broken), JSON.stringify({ baseline, broken: median(times.broken) })).toBeLessThan(
        3 * baseline,
      )
    })
  },
)

describe('hono: a path full of bad escapes', () => {
  const servers: Server[] = []
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  async function serve(app: Hono): Promise<string> {
    const server = createAdaptorServer({ fetch: app.fetch }) as Server
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it('costs about what it costs Hono without the limiter, mounted app-wide', async () => {
    const bare = new Hono()
    bare.get('/health', (c) => c.text('ok'))
    const limited = new Hono()
    const limit = dianaHono({ rules: [perResource], clock: fakeClock().now })
    limited.use(limit)
    limited.get('/health', (c) => c.text('ok'))
    const [bareUrl, limitedUrl] = [await serve(bare), await serve(limited)]
    const times: Record<'bare' | 'limited', number[]> = { bare: [], limited: [] }
    for (let round = 0; round < 15; round++) {
      for (const target of [badEscapes, brokenSequences]) {
        const bareTime = await timed(bareUrl, target)
        const limitedTime = await timed(limitedUrl, target)
        if (round < 3) continue
        times.bare.push(bareTime)
        times.limited.push(limitedTime)
      }
    }
    await limit.close()
    const baseline = median(times.bare)
    expect(median(times.limited), JSON.stringify({ baseline, limited: median(times.limited) })).toBeLessThan(
      1.5 * baseline + 2,
    )
  })
})
