import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import diana from '../../adapters/fastify'
import type { Rule } from '../../src/rules/rule'
import { fakeClock, send } from './support/http'

const rules: Rule[] = [
  { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 2, window: '1m' },
]

describe('Fastify plugin specifics', () => {
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })
  const listen = async (build: (app: FastifyInstance) => Promise<void>) => {
    app = Fastify()
    await build(app)
    return app.listen({ port: 0, host: '127.0.0.1' })
  }

  it('limits requests that match no route, by path', async () => {
    const url = await listen(async (a) => {
      await a.register(diana, { rules, clock: fakeClock().now })
    })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/nowhere`)).status)
    expect(statuses).toEqual([404, 404, 429])
  })

  it('limits routes declared before the plugin has loaded (register without await)', async () => {
    const url = await listen(async (a) => {
      a.register(diana, { rules, clock: fakeClock().now })
      a.get('/items/:id', async () => 'item')
    })
    const replies = []
    for (let i = 0; i < 3; i++) replies.push(await send(`${url}/items/${i}`))
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429])
    expect(replies[0]?.headers.get('ratelimit')).toBe('"device";r=1;t=60')
  })

  it('checks a request once when the plugin is registered in nested scopes too', async () => {
    const clock = fakeClock()
    const url = await listen(async (a) => {
      await a.register(diana, { rules, clock: clock.now })
      await a.register(async (child) => {
        await child.register(diana, { rules, clock: clock.now })
        child.get('/twice', async () => 'ok')
      })
    })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/twice`)).status)
    expect(statuses).toEqual([200, 200, 429])
  })

  it('exempts routes with config.diana false and rejects a bad per-route config at startup', async () => {
    const url = await listen(async (a) => {
      await a.register(diana, { rules, clock: fakeClock().now })
      a.get('/free', { config: { diana: false } }, async () => 'free')
    })
    for (let i = 0; i < 3; i++) expect((await send(`${url}/free`)).status).toBe(200)
    const broken = Fastify()
    await broken.register(diana, { rules })
    expect(() =>
      broken.get('/bad', { config: { diana: { rules: [{ ...rules[0]!, limit: -1 }] } } }, async () => 'x'),
    ).toThrow(/limit/)
    await broken.close()
  })
})
