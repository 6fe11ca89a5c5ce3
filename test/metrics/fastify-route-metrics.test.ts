import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import diana from '../../adapters/fastify'
import type { Rule } from '../../src/rules/rule'
import { fakeClock, send } from '../adapters/support/http'

const device: Rule = {
  name: 'device',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit: 5,
  window: '1m',
}
const login: Rule = { name: 'login', dimension: 'device', algorithm: 'fixed-window', limit: 1, window: '1m' }

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get()
  const found = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  )
  return found?.value ?? 0
}

describe('Fastify plugin option metrics: the plugin and its per-route limiters on one registry', () => {
  let app: FastifyInstance | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('reports each limiter under its own limiter label, and unregisters them when the app closes', async () => {
    const registry = new Registry()
    const clock = fakeClock()
    app = Fastify()
    await app.register(diana, { name: 'shop', rules: [device], clock: clock.now, metrics: { registry } })
    app.get('/items', async () => 'items')
    app.post('/login', { config: { diana: { rules: [login] } } }, async () => 'in')
    app.post('/signup', { config: { diana: { name: 'signup', rules: [login] } } }, async () => 'up')
    const url = await app.listen({ port: 0, host: '127.0.0.1' })

    expect((await send(`${url}/items`)).status).toBe(200)
    const statuses = []
    for (let i = 0; i < 2; i++) statuses.push((await send(`${url}/login`, { method: 'POST' })).status)
    expect(statuses).toEqual([200, 429])
    expect((await send(`${url}/signup`, { method: 'POST' })).status).toBe(200)

    expect(await value(registry, 'diana_allowed_total', { limiter: 'shop', rule: 'device' })).toBe(1)
    const route = { limiter: 'shop:POST /login', rule: 'login' }
    expect(await value(registry, 'diana_allowed_total', route)).toBe(1)
    expect(await value(registry, 'diana_denied_total', route)).toBe(1)
    expect(await value(registry, 'diana_near_limit_total', route)).toBe(1)
    expect(await value(registry, 'diana_allowed_total', { limiter: 'signup', rule: 'login' })).toBe(1)

    await app.close()
    app = undefined
    expect(await registry.metrics()).not.toMatch(/diana_/)
  })

  it('refuses metrics.name, which would give every limiter of the plugin one label', async () => {
    app = Fastify()
    await expect(
      app.register(diana, { rules: [device], metrics: { name: 'x' } as never }).ready(),
    ).rejects.toThrow(/metrics.name is not taken here/)
  })
})
