import { type Context, Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { diana } from '../../../adapters/hono'
import type { Rule } from '../../../src/rules/rule'
import { fakeClock } from '../support/http'

// The Web path of diana-limiter/hono, as Bun, Deno and edge runtimes drive it: `app.fetch(request,
// env)` with no Node socket behind it. Deno hands `{ remoteAddr }` as the env and Bun its server;
// the helpers below read them as hono/deno's and hono/bun's getConnInfo do (those modules need the Deno and Bun globals to load).

const perIp: Rule = { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 2, window: '1m' }
const oneAtATime: Rule = {
  name: 'one-at-a-time',
  dimension: 'global',
  algorithm: 'concurrency',
  limit: 1,
  window: '1m',
}

const deno = (hostname: string) => ({ remoteAddr: { hostname, port: 40000, transport: 'tcp' } })
/** What hono/deno's getConnInfo does (hono/deno needs the Deno global to load). */
const denoConnInfo = (c: Context) => ({
  remote: { address: (c.env as ReturnType<typeof deno>).remoteAddr.hostname },
})
/** What hono/bun's getConnInfo does (hono/bun itself needs the Bun global to load). */
const bunConnInfo = (c: Context) => ({
  remote: { address: (c.env as ReturnType<typeof bun>).requestIP(c.req.raw).address },
})
const bun = (address: string) => ({
  requestIP: (_request: Request) => ({ address, family: 'IPv4', port: 40000 }),
})

function recorder() {
  const warnings: string[] = []
  return { warnings, logger: { warn: (message: string) => warnings.push(message) } }
}

async function statuses(app: Hono, count: number, env: () => unknown, init?: RequestInit): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++)
    out.push((await app.fetch(new Request('http://x/items/1', init), env())).status)
  return out
}

describe('diana-limiter/hono on a Web runtime', () => {
  it("counts clients by the address Deno's getConnInfo reports, ignoring X-Forwarded-For", async () => {
    const { logger } = recorder()
    const app = new Hono()
    app.use(diana({ rules: [perIp], clock: fakeClock().now, connInfo: denoConnInfo, logger }))
    app.get('/items/:id', (c) => c.text('item'))
    const spoofed = { headers: { 'x-forwarded-for': '9.9.9.9' } }
    expect(await statuses(app, 3, () => deno('1.1.1.1'), spoofed)).toEqual([200, 200, 429])
    expect(await statuses(app, 1, () => deno('2.2.2.2'), spoofed)).toEqual([200])
  })

  it("with Bun's getConnInfo and trustProxy 1, counts the client the nearest proxy names", async () => {
    const app = new Hono()
    app.use(diana({ rules: [perIp], clock: fakeClock().now, connInfo: bunConnInfo, trustProxy: 1 }))
    app.get('/items/:id', (c) => c.text('item'))
    // The client wrote the left entry itself; the proxy appended the right one.
    const via = (client: string) => ({ headers: { 'x-forwarded-for': `6.6.6.6, ${client}` } })
    expect(await statuses(app, 3, () => bun('10.0.0.1'), via('1.1.1.1'))).toEqual([200, 200, 429])
    expect(await statuses(app, 1, () => bun('10.0.0.1'), via('2.2.2.2'))).toEqual([200])
  })

  it('without connInfo, never lets a request through unlimited: all clients share one address, with a warning', async () => {
    const { warnings, logger } = recorder()
    const app = new Hono()
    app.use(diana({ rules: [perIp], clock: fakeClock().now, logger }))
    app.get('/items/:id', (c) => c.text('item'))
    expect(await statuses(app, 3, () => deno('1.1.1.1'))).toEqual([200, 200, 429])
    expect(await statuses(app, 1, () => deno('2.2.2.2'))).toEqual([429])
    expect(warnings.filter((w) => w.includes('cannot tell the client address'))).toHaveLength(1)
  })

  it('with a connInfo that throws (the Node helper on another runtime), limits all as one and says why, once', async () => {
    const { warnings, logger } = recorder()
    const app = new Hono()
    const nodeHelper = (c: { env: { incoming: { socket: { remoteAddress: string } } } }) => ({
      remote: { address: c.env.incoming.socket.remoteAddress },
    })
    app.use(diana({ rules: [perIp], clock: fakeClock().now, logger, connInfo: nodeHelper as never }))
    app.get('/items/:id', (c) => c.text('item'))
    expect(await statuses(app, 3, () => deno('1.1.1.1'))).toEqual([200, 200, 429])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/\(connInfo failed: .+\)/)
  })

  it('refuses options that are no connection-info helper or trust setting, by name', () => {
    expect(() => diana({ rules: [perIp], connInfo: 'yes' as never })).toThrow(
      /diana-limiter\/hono: connInfo must be a function/,
    )
    expect(() => diana({ rules: [perIp], trustProxy: 'all' as never })).toThrow(
      /diana-limiter\/hono: trustProxy must be/,
    )
    expect(() => diana({ rules: [perIp], trustProxi: true } as never)).toThrow(/unknown option "trustProxi"/)
  })

  it('holds a concurrency permit until a streamed body has been read to the end', async () => {
    const app = new Hono()
    app.use(diana({ rules: [oneAtATime], connInfo: denoConnInfo }))
    app.get('/stream', () => {
      const chunks = ['a', 'b', 'c']
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift()
          if (next === undefined) controller.close()
          else controller.enqueue(new TextEncoder().encode(next))
        },
      })
      return new Response(body)
    })
    const first = await app.fetch(new Request('http://x/stream'), deno('1.1.1.1'))
    expect(first.status).toBe(200)
    // Its body is still unread: the permit is still held.
    expect((await app.fetch(new Request('http://x/stream'), deno('1.1.1.1'))).status).toBe(503)
    expect(await first.text()).toBe('abc')
    await Promise.resolve()
    const third = await app.fetch(new Request('http://x/stream'), deno('1.1.1.1'))
    expect(third.status).toBe(200)
    // A client that stops reading (the runtime cancels the body) gives its permit back too.
    await third.body?.cancel()
    expect((await app.fetch(new Request('http://x/stream'), deno('1.1.1.1'))).status).toBe(200)
  })

  it('gives a permit back when the client goes away during a shaping delay, and never runs the handler', async () => {
    const shaping: Rule = {
      name: 'shaping',
      dimension: 'global',
      algorithm: 'leaky-bucket',
      limit: 1,
      window: '10s',
      burst: 5,
    }
    let ran = 0
    const app = new Hono()
    const limit = diana({ rules: [shaping], connInfo: denoConnInfo })
    app.use(limit)
    app.get('/items/:id', (c) => {
      ran++
      return c.text('item')
    })
    expect((await app.fetch(new Request('http://x/items/1'), deno('1.1.1.1'))).status).toBe(200)
    const controller = new AbortController()
    const held = app.fetch(new Request('http://x/items/1', { signal: controller.signal }), deno('1.1.1.1'))
    setTimeout(() => controller.abort(), 20)
    const started = Date.now()
    await held
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(ran).toBe(1)
    await limit.close()
  })

  it('adds the headers to a response whose headers cannot change (a redirect), and to an onLimited Response', async () => {
    const app = new Hono()
    app.use(
      diana({
        rules: [{ ...perIp, limit: 1 }],
        clock: fakeClock().now,
        connInfo: denoConnInfo,
        onLimited: (c, decision) => c.json({ slowDown: decision.rule }, 429, { 'RateLimit-Policy': 'own' }),
      }),
    )
    app.get('/items/:id', () => Response.redirect('http://x/elsewhere', 302))
    const redirected = await app.fetch(new Request('http://x/items/1'), deno('1.1.1.1'))
    expect(redirected.status).toBe(302)
    expect(redirected.headers.get('ratelimit')).toBe('"per-ip";r=0;t=60')
    const denied = await app.fetch(new Request('http://x/items/1'), deno('1.1.1.1'))
    expect(denied.status).toBe(429)
    expect(await denied.json()).toEqual({ slowDown: 'per-ip' })
    expect(denied.headers.get('retry-after')).toBe('60')
    // The hook's own header stays.
    expect(denied.headers.get('ratelimit-policy')).toBe('own')
  })

  it('counts a wildcard route by path, so match.path globs see the path it serves', async () => {
    const files: Rule = {
      name: 'secret',
      dimension: 'resource',
      algorithm: 'fixed-window',
      limit: 1,
      window: '1m',
      match: { path: '/files/secret/**' },
    }
    const app = new Hono()
    app.use(diana({ rules: [files], clock: fakeClock().now, connInfo: denoConnInfo }))
    app.get('/files/*', (c) => c.text(c.req.path))
    app.get('/docs/:name{.+}', (c) => c.text(c.req.path))
    const get = async (path: string) =>
      (await app.fetch(new Request(`http://x${path}`), deno('1.1.1.1'))).status
    expect([
      await get('/files/secret/a'),
      await get('/files/secret/a'),
      await get('/files/public/a'),
    ]).toEqual([200, 429, 200])
  })
})
