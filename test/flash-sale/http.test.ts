/**
 * The shop over real HTTP, with Diana in front: what buyers, scripts and device farms see.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Order, SaleAudit } from '../../examples/flash-sale/domain/order'
import type { ShopConfig } from '../../examples/flash-sale/shop-config'
import { type RunningShop, type StartOptions, startShop } from '../../examples/flash-sale/start-shop'
import { createFakeClock } from '../support/fake-clock'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { Buyer, ROOMY_RULES, signedDevice, testConfig } from './shop-harness'

const running: RunningShop[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((shop) => shop.close()))
})

async function shop(config: ShopConfig, options: StartOptions = {}): Promise<RunningShop> {
  const started = await startShop(config, { workers: false, ...options })
  running.push(started)
  return started
}

/** 1,000 buyers reserve, then all click at once; half of them land on `urls[1]` if given. */
async function stampede(urls: string[], buyers: number) {
  const people = Array.from(
    { length: buyers },
    (_, i) => new Buyer(urls[i % urls.length] as string, `buyer${i}`),
  )
  for (let i = 0; i < people.length; i += 100) {
    await Promise.all(people.slice(i, i + 100).map((buyer) => buyer.reserve()))
  }
  const replies = await Promise.all(people.map((buyer) => buyer.purchase()))
  const created = replies.filter((reply) => reply.status === 201).map((reply) => reply.body.order as Order)
  return { replies, created }
}

function expectSoldExactlyOnce(created: Order[], audit: SaleAudit, stock: number) {
  expect(created).toHaveLength(stock)
  expect(new Set(created.map((order) => order.user)).size).toBe(stock)
  expect(new Set(created.map((order) => order.id)).size).toBe(stock)
  expect(audit).toMatchObject({ stockLeft: 0, oversold: 0, usersWithSeveralLiveOrders: 0 })
  expect(audit.orders.pending).toBe(stock)
}

describe('flash-sale shop over HTTP (memory)', () => {
  it('sells 100 items to 1,000 concurrent buyers: no oversell, one order per buyer', async () => {
    const clock = createFakeClock()
    const { url, shop: sale } = await shop(testConfig(clock()), { clock, rules: ROOMY_RULES })
    const { replies, created } = await stampede([url], 1000)
    expectSoldExactlyOnce(created, await sale.audit(), 100)
    expect(replies.filter((reply) => reply.status === 409 && reply.body.outcome === 'sold-out')).toHaveLength(
      900,
    )
  })

  it('turns a script away with 429, Retry-After and the rule name, before it reaches the stock', async () => {
    const clock = createFakeClock()
    const { url, shop: sale } = await shop(testConfig(clock(), { stock: 10 }), { clock })
    const bot = new Buyer(url, 'bot')
    await bot.reserve()
    const replies = []
    for (let i = 0; i < 4; i++) replies.push(await bot.purchase(`bot-key-${i}`))
    expect(replies.map((reply) => reply.status)).toEqual([201, 409, 429, 429])
    const limited = replies[2]!
    expect(limited.headers.get('content-type')).toContain('application/problem+json')
    expect(limited.body).toMatchObject({ status: 429, rule: 'account' })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    // Sliding window: the wait is until the previous window's weight has decayed (at most 2W).
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(20)
    expect(await sale.state.stockLeft()).toBe(9)
    // Denied requests consume nothing: once the window has passed, the script is served again.
    clock.advance(20_000)
    expect((await bot.purchase('bot-key-9')).status).toBe(409)
  })

  it('holds a device farm to the per-device quota, however many accounts it signs in', async () => {
    const clock = createFakeClock()
    const { url } = await shop(testConfig(clock(), { stock: 10 }), { clock })
    const farm = Array.from({ length: 6 }, (_, i) => new Buyer(url, `farm${i}`, signedDevice('one-phone')))
    for (const account of farm) await account.reserve()
    const statuses = []
    for (const account of farm) statuses.push((await account.purchase()).status)
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429])
    const denied = await farm[5]!.purchase()
    expect(denied.body).toMatchObject({ rule: 'device' })
  })

  it('counts a script inventing device ids by its address, and hands out signed ids sparingly', async () => {
    const clock = createFakeClock()
    const { url } = await shop(testConfig(clock(), { stock: 10 }), { clock })
    const inventors = Array.from({ length: 6 }, (_, i) => new Buyer(url, `made-up${i}`, `invented-${i}`))
    for (const account of inventors) await account.reserve()
    const statuses = []
    for (const account of inventors) statuses.push((await account.purchase()).status)
    expect(statuses).toEqual([201, 201, 201, 201, 429, 429])
    // An id from the shop is a device of its own.
    const issued = await inventors[5]!.request<{ deviceId: string }>('POST', '/api/device')
    expect(issued.body.deviceId).toMatch(/^web-[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/)
    const phone = new Buyer(url, 'made-up5', issued.body.deviceId)
    phone.cookie = inventors[5]!.cookie
    expect((await phone.purchase()).status).toBe(201)
    // Ten ids a minute per address; the rest of the minute, none.
    const more = []
    for (let i = 0; i < 10; i++) more.push((await phone.request('POST', '/api/device')).status)
    expect(more).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 429])
  })

  it('answers a retried purchase with the same order, and refuses work before the sale opens', async () => {
    const clock = createFakeClock()
    const { url } = await shop(testConfig(clock() + 30_000), { clock, rules: ROOMY_RULES })
    const alice = new Buyer(url, 'alice')
    expect((await alice.purchase()).status).toBe(401)
    expect((await alice.request('GET', '/api/me')).body).toEqual({ user: null, eligible: false, order: null })
    await alice.reserve()
    const early = await alice.purchase()
    expect(early.status).toBe(409)
    expect(early.body).toMatchObject({ outcome: 'not-started' })
    expect(early.headers.get('retry-after')).toBe('30')
    clock.advance(30_000)
    const first = await alice.purchase('same-key-123')
    const retry = await alice.purchase('same-key-123')
    expect(first.status).toBe(201)
    expect(retry.status).toBe(200)
    expect(retry.body).toMatchObject({ outcome: 'replayed', order: first.body.order })
    expect((await alice.request('POST', '/api/seckill/purchase')).status).toBe(400)
  })

  it('serves a mounted handler (the seam for an operations page at /diana) outside the API rules', async () => {
    const sale = await shop(testConfig(Date.now()), {
      rules: [{ name: 'global', dimension: 'global', algorithm: 'fixed-window', limit: 1, window: '1m' }],
      mounts: (limiter) => ({
        '/diana': (req, res) => {
          res.setHeader('content-type', 'text/plain')
          res.end(`${req.url} · ${limiter.rules.map((rule) => rule.name).join(',')}`)
        },
      }),
    })
    // Three calls against a limit of one: the API's rules do not reach it.
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${sale.url}/diana/rules?x=1`)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('/rules?x=1 · global')
    }
    await expect(
      startShop(testConfig(Date.now()), { workers: false, mounts: () => ({ '/api/ops': () => {} }) }),
    ).rejects.toThrow(/stay out of \/api/)
  })

  it('rejects forged sessions and survives hostile header values', async () => {
    const clock = createFakeClock()
    const { url } = await shop(testConfig(clock()), { clock })
    const eve = new Buyer(url, 'eve', 'x'.repeat(10_000))
    await eve.reserve()
    expect(eve.cookie).toMatch(/^fs_user=eve\./)
    const forged = new Buyer(url, 'mallory')
    forged.cookie = eve.cookie.replace('eve.', 'mallory.')
    expect((await forged.purchase()).status).toBe(401)
    expect([201, 429]).toContain((await eve.purchase()).status)
    const odd = new Buyer(url, 'zoe', '{slot}|*\u00ff '.repeat(50))
    expect((await odd.reserve()).status).toBe(200)
    expect((await odd.purchase()).status).toBe(201)
  })

  it('closes an unpaid order after the payment window: the stock is back and paying is refused', async () => {
    const clock = createFakeClock()
    const config = testConfig(clock(), { stock: 1, paymentWindowMs: 60_000 })
    const { url, shop: sale } = await shop(config, { clock, rules: ROOMY_RULES })
    const slow = new Buyer(url, 'slow')
    const next = new Buyer(url, 'next')
    await slow.reserve()
    await next.reserve()
    const order = (await slow.purchase()).body.order as Order
    expect((await next.purchase()).body).toEqual({ outcome: 'sold-out' })
    clock.advance(59_999)
    expect(await sale.closeDue()).toBe(0)
    clock.advance(1)
    expect(await sale.closeDue()).toBe(1)
    const info = (await slow.request('GET', '/api/sale')).body
    expect(info).toMatchObject({ stockLeft: 1, stockTotal: 1 })
    const late = await slow.pay(order.id)
    expect(late.status).toBe(409)
    expect(late.body).toMatchObject({ outcome: 'closed', order: { id: order.id, status: 'closed' } })
    expect((await next.purchase('next-key-2')).status).toBe(201)
  })

  it('pays a pending order and delivers the points once through the outbox', async () => {
    const clock = createFakeClock()
    const { url, shop: sale } = await shop(testConfig(clock()), { clock, rules: ROOMY_RULES })
    const alice = new Buyer(url, 'alice')
    await alice.reserve()
    const order = (await alice.purchase()).body.order as Order
    expect((await new Buyer(url, 'bob').pay(order.id)).status).toBe(401)
    const paid = await alice.pay(order.id)
    expect(paid.status).toBe(200)
    expect(paid.body).toMatchObject({ outcome: 'paid', order: { status: 'paid', paidAt: clock() } })
    expect((await alice.pay(order.id)).body).toMatchObject({ outcome: 'already-paid' })
    expect(await sale.relay()).toEqual({ delivered: 1, retrying: 0, dead: 0 })
    expect(await sale.relay()).toEqual({ delivered: 0, retrying: 0, dead: 0 })
    expect(await sale.ledger.points('alice')).toBe(10)
    clock.advance(120_000)
    expect(await sale.closeDue()).toBe(0)
    expect((await alice.request('GET', '/api/me')).body).toMatchObject({
      user: 'alice',
      order: { status: 'paid' },
    })
  })
})

let redis: RedisProcess | undefined

describeRedis('flash-sale shop over HTTP (Redis, two shop processes)', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it('sells 100 items to 1,000 concurrent buyers spread over two shops sharing one Redis', async () => {
    const clock = createFakeClock()
    const config = testConfig(clock(), { redisUrl: redis!.url })
    const a = await shop(config, { clock, rules: ROOMY_RULES })
    // The second process opens the same sale with other figures: the stored sale wins.
    const b = await shop(
      { ...config, stock: 5000, startsAt: clock() + 3_600_000 },
      { clock, rules: ROOMY_RULES },
    )
    expect(b.shop.meta).toEqual(a.shop.meta)
    const { replies, created } = await stampede([a.url, b.url], 1000)
    expectSoldExactlyOnce(created, await b.shop.audit(), 100)
    expect(new Set(created.map((order) => order.id.split('-')[1])).size).toBe(100)
    expect(replies.filter((reply) => reply.status === 409)).toHaveLength(900)
  })

  it('answers 503 problem+json promptly when Redis is gone, instead of hanging or crashing', async () => {
    const own = await startRedis()
    try {
      const clock = createFakeClock()
      const { url } = await shop(testConfig(clock(), { redisUrl: own.url }), { clock, rules: ROOMY_RULES })
      const alice = new Buyer(url, 'alice')
      expect((await alice.reserve()).status).toBe(200)
      await own.kill()
      const started = performance.now()
      const reply = await alice.purchase()
      expect(reply.status).toBe(503)
      expect(reply.headers.get('content-type')).toContain('application/problem+json')
      expect(reply.body).toMatchObject({ status: 503, title: 'Service unavailable' })
      // Bounded by the command timeouts (Diana 250 ms, sale state 2 s), not by the client's patience.
      expect(performance.now() - started).toBeLessThan(5000)
    } finally {
      await own.stop()
    }
  })
})
