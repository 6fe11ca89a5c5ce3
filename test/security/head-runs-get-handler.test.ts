import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, send } from '../adapters/support/http'

// Review finding: every framework answers HEAD with the GET route's handler (Express, Fastify's
// exposeHeadRoutes, @koa/router, Hono), so the handler does all its work and only the body is
// dropped. A rule written `methods: [GET]` did not match HEAD: a client ran a limited GET
// handler as often as it liked by asking HEAD. GET in `match.methods` now covers HEAD too.

const reads: Rule = {
  name: 'reads',
  dimension: 'ip',
  algorithm: 'fixed-window',
  limit: 2,
  window: '1m',
  match: { methods: ['get'] },
}

describe.each(frameworks)('$name: HEAD against a GET-only rule', (framework) => {
  const start = startsApps(framework)
  for (const appWide of [true, false]) {
    it(`counts HEAD as the GET it runs (${appWide ? 'app-wide' : 'on the route'})`, async () => {
      const { url, hits } = await start({ options: { rules: [reads], clock: fakeClock().now }, appWide })
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/items/1`, { method: 'HEAD' })).status)
      statuses.push((await send(`${url}/items/1`)).status)
      expect(statuses).toEqual([200, 200, 429, 429])
      expect(hits.get('/items/:id')).toBe(2)
    })
  }
})
