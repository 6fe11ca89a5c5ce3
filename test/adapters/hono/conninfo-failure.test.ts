import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { diana } from '../../../adapters/hono'
import type { Rule } from '../../../src/rules/rule'
import { fakeClock } from '../support/http'

// On @hono/node-server a connInfo helper that fails (hono/bun's on Node, a header-reading one
// whose header is missing) must not make every request look like a client that went away:
// the Node socket is still there and names the peer. Real HTTP on loopback.

const perIp: Rule = { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 2, window: '1m' }
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('diana-limiter/hono on Node, with a connInfo that gives no address', () => {
  for (const [name, connInfo] of [
    [
      'throws',
      () => {
        throw new Error('Bun is not defined')
      },
    ],
    ['names no address', () => ({ remote: {} })],
  ] as const) {
    it(`(${name}) counts the socket's peer and warns once, rather than refusing everyone`, async () => {
      const warnings: string[] = []
      const app = new Hono()
      const limit = diana({
        rules: [perIp],
        clock: fakeClock().now,
        connInfo,
        logger: { warn: (message) => warnings.push(message) },
      })
      app.use(limit)
      app.get('/items/:id', (c) => c.text(`item ${c.get('rateLimit')?.remaining}`))
      const url = await serve(app)
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/items/1`)).status)
      expect(statuses).toEqual([200, 200, 429])
      expect(
        await limit.limiter.peek({ ip: '127.0.0.1', resource: '/items/:id', method: 'GET' }),
      ).toMatchObject({
        allowed: false,
      })
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/connection's address/)
      await limit.close()
    })
  }
})
