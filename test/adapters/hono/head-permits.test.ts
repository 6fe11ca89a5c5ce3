import { type Context, Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { diana } from '../../../adapters/hono'
import type { Rule } from '../../../src/rules/rule'

// On Bun, Deno and edge runtimes the middleware follows a response's body to know when a
// concurrency permit may go back. Hono answers HEAD by running the GET route and sending its
// headers with no body (`new Response(null, response)`), so nothing ever reads or cancels the
// body the middleware follows: a permit held until that body ends would never come back, and
// any client could take all of them with a few HEAD requests.

const oneAtATime: Rule = {
  name: 'one-at-a-time',
  dimension: 'global',
  algorithm: 'concurrency',
  limit: 1,
  window: '1m',
}
const env = () => ({ remoteAddr: { hostname: '1.1.1.1' } })
const connInfo = (c: Context) => ({
  remote: { address: (c.env as ReturnType<typeof env>).remoteAddr.hostname },
})

describe('diana-limiter/hono, HEAD requests on a Web runtime', () => {
  it('give their concurrency permit back once answered, so HEAD requests cannot take every permit', async () => {
    const app = new Hono()
    app.use(diana({ rules: [oneAtATime], connInfo }))
    app.get('/items/:id', (c) => c.text('item'))
    for (let i = 0; i < 3; i++) {
      const head = await app.fetch(new Request('http://x/items/1', { method: 'HEAD' }), env())
      expect(head.status).toBe(200)
      expect(head.body).toBeNull()
    }
    const get = await app.fetch(new Request('http://x/items/1'), env())
    expect(get.status).toBe(200)
    expect(await get.text()).toBe('item')
  })

  it('keep a streamed GET body followed: the permit is still held while it is unread', async () => {
    const app = new Hono()
    app.use(diana({ rules: [oneAtATime], connInfo }))
    app.get('/items/:id', (c) => c.text('item'))
    const get = await app.fetch(new Request('http://x/items/1'), env())
    expect((await app.fetch(new Request('http://x/items/1', { method: 'HEAD' }), env())).status).toBe(503)
    await get.text()
    await Promise.resolve()
    expect((await app.fetch(new Request('http://x/items/1', { method: 'HEAD' }), env())).status).toBe(200)
  })
})
