/**
 * Redis mode survives the shop: a shop process is SIGKILLed in the middle of a stampede, a new
 * one starts on the same Redis, and no order, stock unit, payment or pending closure is lost.
 * Real processes (`node --import tsx server.ts`), a real redis-server, real time (the payment
 * window is 6 s so the restarted shop's own closer is what closes the unpaid orders).
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Order, SaleAudit } from '../../examples/flash-sale/domain/order'
import { RedisSaleState } from '../../examples/flash-sale/storage/redis/redis-sale-state'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'
import { Buyer } from './shop-harness'
import { type ShopProcess, startShopProcess } from './shop-process'

const WINDOW_MS = 6000
let redis: RedisProcess | undefined
let dir: string
const children: ChildProcess[] = []

function startProcess(env: Record<string, string>): Promise<ShopProcess> {
  return startShopProcess(env, { children })
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

describeRedis('flash-sale restart in Redis mode', () => {
  beforeAll(async () => {
    redis = await startRedis()
    dir = mkdtempSync(join(tmpdir(), 'flash-sale-restart-'))
    // Roomy rules: the stock and the restart are under test here, not the limits.
    writeFileSync(
      join(dir, 'diana.yaml'),
      'version: 1\nrules:\n  - { name: global, dimension: global, algorithm: token-bucket, limit: 100000, window: 1s }\n',
    )
  })
  afterAll(async () => {
    await Promise.all(children.map(kill))
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('loses no order and no pending closure when a shop is killed mid-sale', async () => {
    const env = {
      PORT: '0',
      REDIS_URL: redis!.url,
      SALE_ID: 'restart',
      SALE_STOCK: '100',
      SALE_STARTS_IN: '0',
      PAYMENT_WINDOW: `${WINDOW_MS}ms`,
      DIANA_CONFIG: join(dir, 'diana.yaml'),
      SHOP_SECRET: 'restart-test-secret',
    }
    const first = await startProcess(env)
    const buyers = Array.from({ length: 300 }, (_, i) => new Buyer(first.url, `b${i}`))
    for (let i = 0; i < buyers.length; i += 100) {
      await Promise.all(buyers.slice(i, i + 100).map((buyer) => buyer.reserve()))
    }
    // Ten orders are paid before the crash; their "order paid" messages are in the outbox.
    const paid: Order[] = []
    for (const buyer of buyers.slice(0, 10)) {
      const order = (await buyer.purchase()).body.order as Order
      expect((await buyer.pay(order.id)).status).toBe(200)
      paid.push(order)
    }

    // Their messages are delivered before the crash (a delivery cut short by it would wait out
    // its 30 s lease before another relay may retry it: correct, but longer than this test).
    const ops = new Buyer(first.url, 'ops')
    for (let i = 0; i < 100; i++) {
      if ((await ops.request<SaleAudit>('GET', '/api/audit')).body.outbox.delivered === 10) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    // The stampede; the shop dies once 40 answers are back, with the rest in flight.
    const seen: Order[] = []
    let answered = 0
    let killed: Promise<void> | undefined
    let killedAt = 0
    await Promise.all(
      buyers.slice(10).map(async (buyer) => {
        try {
          const reply = await buyer.purchase()
          if (reply.status === 201) seen.push(reply.body.order as Order)
        } catch {
          // Connection reset by the crash: the buyer does not know whether they got an order.
        }
        if (++answered === 40) {
          killedAt = Date.now()
          killed = kill(first.child)
        }
      }),
    )
    await killed
    expect(seen.length).toBeGreaterThan(0)

    // Straight after the crash, before any closure is due: everything is consistent.
    const state = new RedisSaleState({ url: redis!.url, saleId: 'restart', commandTimeoutMs: 10_000 })
    try {
      const audit = await state.audit()
      const live = audit.orders.pending + audit.orders.paid
      expect(audit.stockLeft + live).toBe(100)
      expect(audit.oversold).toBe(0)
      expect(audit.usersWithSeveralLiveOrders).toBe(0)
      expect(audit.orders.paid).toBe(10)
      expect(audit.orders.closed).toBe(0)
      // Every pending order has its closure waiting in the delay queue.
      const due = await state.dueClosures(Number.MAX_SAFE_INTEGER, 1000)
      expect(due).toHaveLength(audit.orders.pending)
      for (const order of seen) expect(due).toContain(order.id)

      // A new shop process on the same Redis: it serves the orders and runs their closures.
      const second = await startProcess(env)
      for (const order of seen.slice(0, 5)) {
        const buyer = new Buyer(second.url, order.user)
        buyer.cookie = buyers.find((b) => b.user === order.user)!.cookie
        const reply = await buyer.request('GET', `/api/orders/${order.id}`)
        expect(reply.status).toBe(200)
        expect(reply.body.order).toMatchObject({ id: order.id, user: order.user })
      }
      let after: SaleAudit | undefined
      const deadline = Date.now() + WINDOW_MS + 15_000
      while (Date.now() < deadline) {
        after = (await new Buyer(second.url, 'ops').request<SaleAudit>('GET', '/api/audit')).body
        if (after.orders.pending === 0 && after.outbox.pending === 0) break
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(after).toMatchObject({
        stockTotal: 100,
        stockLeft: 90,
        oversold: 0,
        orders: { pending: 0, paid: 10, closed: live - 10 },
        outbox: { pending: 0, delivered: 10, dead: 0 },
      })
      // Closed after the crash, so by the restarted process.
      for (const order of seen) {
        const closed = await state.order(order.id)
        expect(closed?.status).toBe('closed')
        expect(closed?.closedAt).toBeGreaterThanOrEqual(killedAt)
      }
    } finally {
      await state.dispose()
    }
    // Two process start-ups and a 6 s payment window: about 10 s, more on a busy machine.
  }, 60_000)
})
