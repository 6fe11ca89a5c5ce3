import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { compress } from 'hono/compress'
import { etag } from 'hono/etag'
import { prettyJSON } from 'hono/pretty-json'
import { describe, expect, it } from 'vitest'
import { diana } from '../../../adapters/hono'
import type { Rule } from '../../../src/rules/rule'

// On Web runtimes a concurrency permit goes back when the response body has been read. Hono
// middleware outside the limiter that rework the response must not strand it: they read or
// pipe the body the limiter follows (what docs/hono.md says of them).

const oneAtATime: Rule = {
  name: 'one-at-a-time',
  dimension: 'global',
  algorithm: 'concurrency',
  limit: 1,
  window: '1h',
}
const env = () => ({ remoteAddr: { hostname: '1.1.1.1' } })
const connInfo = (c: Context) => ({
  remote: { address: (c.env as ReturnType<typeof env>).remoteAddr.hostname },
})

describe('diana-limiter/hono inside Hono middleware that rework the response, on a Web runtime', () => {
  for (const [name, outer] of [
    ['etag', etag()],
    ['prettyJSON', prettyJSON({ query: 'pretty' })],
    ['compress', compress()],
  ] as [string, MiddlewareHandler][]) {
    it(`gives the permit back once the client has read the answer (${name})`, async () => {
      const app = new Hono()
      app.use(outer)
      app.use(diana({ rules: [oneAtATime], connInfo }))
      app.get('/items/:id', (c) => c.json({ id: c.req.param('id'), padding: 'x'.repeat(2000) }))
      const init = { headers: { 'accept-encoding': 'gzip' } }
      for (let i = 0; i < 3; i++) {
        const response = await app.fetch(new Request('http://x/items/1?pretty', init), env())
        expect(response.status).toBe(200)
        await response.arrayBuffer()
        await new Promise((resolve) => setTimeout(resolve, 0))
      }
    })
  }
})
