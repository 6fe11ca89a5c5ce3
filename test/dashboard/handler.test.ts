/**
 * The dashboard handler over real HTTP on loopback: what it serves to whom, and what it refuses.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { dashboard } from '../../src/dashboard/index'
import { createLimiter, type Limiter } from '../../src/index'
import { auth, type Running, recording, serveDashboard, TOKEN } from './dashboard-harness'

const RULES = [
  { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 2, window: '1h' },
]

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function start(
  options: Parameters<typeof dashboard>[1],
  rules = RULES,
): Promise<{ limiter: Limiter; running: Running }> {
  const limiter = createLimiter({ rules })
  const running = await serveDashboard(limiter, options)
  cleanups.push(async () => {
    await running.close()
    await limiter.close()
  })
  return { limiter, running }
}

describe('dashboard(): options', () => {
  it('refuses to start with neither a token nor an authorize hook', () => {
    const limiter = createLimiter({ rules: RULES })
    expect(() => dashboard(limiter, {})).toThrow(/refusing to serve rate-limit data to anyone/)
    expect(() => dashboard(limiter, { token: 'short' })).toThrow(/16 to 4096 printable ASCII characters/)
    expect(() => dashboard(limiter, { token: TOKEN, authorize: () => true })).toThrow(/not both/)
    expect(() => dashboard(limiter, { token: TOKEN, allowEdit: true } as never)).toThrow(
      /did you mean "allowEdits"/,
    )
    expect(() => dashboard(limiter, { token: TOKEN, basePath: '/ops/' })).toThrow(/basePath/)
    expect(() => dashboard(limiter, { token: TOKEN, maxStreams: 0 })).toThrow(/maxStreams/)
  })
})

describe('dashboard(): reading', () => {
  it('serves the page shell to anyone, with a strict CSP and no data in it', async () => {
    const { running, limiter } = await start({ token: TOKEN })
    await limiter.check({ account: 'alice' })
    const page = await fetch(`${running.url}/`)
    expect(page.status).toBe(200)
    const csp = page.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    const html = await page.text()
    expect(html).not.toContain('per-account')
    expect(html).not.toMatch(/<script>|<style>|\son\w+=/)
    const uplot = await fetch(`${running.url}/assets/uPlot.iife.min.js`)
    expect(uplot.status).toBe(200)
    expect(uplot.headers.get('content-type')).toMatch(/javascript/)
    expect((await fetch(`${running.url}/assets/../index.html`)).status).toBe(404)
    expect((await fetch(`${running.url}/assets/nope.js`)).status).toBe(404)
  })

  it('answers the data 401 without the token or with a wrong one, 200 with it', async () => {
    const { running } = await start({ token: TOKEN })
    const none = await fetch(`${running.url}/api/state`)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await fetch(`${running.url}/api/state`, { headers: auth(`${TOKEN}x`) })).status).toBe(401)
    expect((await fetch(`${running.url}/api/state`, { headers: auth(TOKEN.slice(1)) })).status).toBe(401)
    expect(
      (await fetch(`${running.url}/api/stream`, { headers: auth('wrong-token-wrong-token') })).status,
    ).toBe(401)
    expect((await fetch(`${running.url}/api/rules`)).status).toBe(401)
    const ok = await fetch(`${running.url}/api/state`, { headers: auth() })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toBe('no-store')
  })

  it('asks the authorize hook instead, 403 when it says no or throws', async () => {
    const logger = recording()
    const { running } = await start({
      logger,
      authorize: (req) => {
        if (req.headers['x-user'] === 'boom') throw new Error('session store down')
        return req.headers['x-user'] === 'ops' ? { identity: 'ops' } : false
      },
    })
    expect((await fetch(`${running.url}/api/state`, { headers: { 'x-user': 'ops' } })).status).toBe(200)
    expect((await fetch(`${running.url}/api/state`, { headers: { 'x-user': 'eve' } })).status).toBe(403)
    expect((await fetch(`${running.url}/api/state`, { headers: { 'x-user': 'boom' } })).status).toBe(403)
    expect(logger.lines.join('\n')).toContain('session store down')
  })

  it('refuses query parameters, long paths and unknown endpoints', async () => {
    const { running } = await start({ token: TOKEN })
    expect((await fetch(`${running.url}/api/state?token=${TOKEN}`, { headers: auth() })).status).toBe(400)
    expect((await fetch(`${running.url}/?x=1`)).status).toBe(400)
    expect((await fetch(`${running.url}/${'a'.repeat(3000)}`)).status).toBe(414)
    expect((await fetch(`${running.url}/api/nope`, { headers: auth() })).status).toBe(404)
    expect((await fetch(`${running.url}/api/state`, { method: 'DELETE', headers: auth() })).status).toBe(405)
  })

  it('shows denied keys as pseudonyms unless showKeys', async () => {
    const hidden = await start({ token: TOKEN })
    for (let i = 0; i < 4; i++) await hidden.limiter.check({ account: 'alice@example.com' })
    const text = await (await fetch(`${hidden.running.url}/api/state`, { headers: auth() })).text()
    expect(text).not.toContain('alice')
    expect(text).toMatch(/"key":"#[0-9a-f]{12}","count":2/)
    const shown = await start({ token: TOKEN, showKeys: true })
    for (let i = 0; i < 4; i++) await shown.limiter.check({ account: 'alice@example.com' })
    const visible = await (await fetch(`${shown.running.url}/api/state`, { headers: auth() })).text()
    expect(visible).toContain('"key":"account=alice@example.com","count":2')
  })

  it('bounds the live streams: one more than maxStreams is refused until one closes', async () => {
    const { running } = await start({ token: TOKEN, maxStreams: 2 })
    const open = async () => {
      const controller = new AbortController()
      const res = await fetch(`${running.url}/api/stream`, { headers: auth(), signal: controller.signal })
      return { res, controller }
    }
    const first = await open()
    const second = await open()
    expect([first.res.status, second.res.status]).toEqual([200, 200])
    expect(first.res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = first.res.body?.getReader()
    const chunk = new TextDecoder().decode((await reader?.read())?.value)
    expect(chunk).toMatch(/^event: state\ndata: \{/)
    const third = await open()
    expect(third.res.status).toBe(503)
    expect(third.res.headers.get('retry-after')).toBe('5')
    first.controller.abort()
    await expect.poll(async () => (await open()).res.status, { timeout: 5000 }).toBe(200)
    second.controller.abort()
  })

  it('frees the place of a stream whose client left while it was being authenticated', async () => {
    let entered: () => void = () => {}
    const asked = new Promise<void>((resolve) => {
      entered = resolve
    })
    let release: () => void = () => {}
    const answered = new Promise<void>((resolve) => {
      release = resolve
    })
    const { running } = await start({
      maxStreams: 1,
      authorize: async () => {
        entered()
        await answered
        return 'ops'
      },
    })
    const controller = new AbortController()
    const leaving = fetch(`${running.url}/api/stream`, { signal: controller.signal }).catch(() => undefined)
    await asked
    controller.abort()
    await leaving
    // Let the server see the socket close before the hook answers.
    await new Promise((resolve) => setTimeout(resolve, 100))
    release()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const next = new AbortController()
    const res = await fetch(`${running.url}/api/stream`, { signal: next.signal })
    expect(res.status).toBe(200)
    next.abort()
  })
})
