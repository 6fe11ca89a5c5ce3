/**
 * One behaviour suite for both homes of a sale (memory, Redis): whatever the concurrency, no
 * item is sold twice, no user gets two live orders, unpaid orders close and give their stock
 * back, pay and close never both win, and paid orders reach the consumer exactly once.
 */
import { afterEach, expect, it } from 'vitest'
import { closeDueOrders } from '../../examples/flash-sale/domain/closer'
import type { Order } from '../../examples/flash-sale/domain/order'
import { relayOutbox } from '../../examples/flash-sale/domain/outbox-relay'
import type { SaleMeta, SaleState } from '../../examples/flash-sale/domain/sale-state'
import { MemoryPointsLedger } from '../../examples/flash-sale/storage/memory/memory-points-ledger'
import { createFakeClock } from '../support/fake-clock'

export type MakeState = (saleId: string) => SaleState

const WINDOW = 60_000
let sequence = 0

/** `shared`: states made with the same sale id see one sale (Redis), as separate processes do. */
export function saleStateSuite(make: MakeState, { shared }: { shared: boolean }): void {
  const open: SaleState[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((state) => state.dispose()))
  })

  async function sale(
    stock: number,
    clock = createFakeClock(),
    maxReservations = 10_000,
  ): Promise<{ state: SaleState; meta: SaleMeta }> {
    const saleId = `T${process.pid}x${++sequence}`
    const state = make(saleId)
    open.push(state)
    const meta = await state.open({
      saleId,
      stockTotal: stock,
      startsAt: clock(),
      paymentWindowMs: WINDOW,
      maxReservations,
    })
    return { state, meta }
  }

  async function buyers(state: SaleState, count: number): Promise<string[]> {
    const users = Array.from({ length: count }, (_, i) => `user${i}`)
    await Promise.all(users.map((user) => state.reserve(user)))
    return users
  }

  it('sells 100 items to 1,000 concurrent buyers (each trying twice) exactly once each', async () => {
    const clock = createFakeClock()
    const { state } = await sale(100, clock)
    const users = await buyers(state, 1000)
    // Every buyer fires two purchases with different keys at once: 2,000 racing attempts.
    const results = await Promise.all(
      users.flatMap((user) => [
        state.purchase({ user, key: `${user}-a`, now: clock() }),
        state.purchase({ user, key: `${user}-b`, now: clock() }),
      ]),
    )
    const created = results.filter((result) => result.outcome === 'created')
    const owners = created.map((result) => (result as { order: Order }).order.user)
    expect(created).toHaveLength(100)
    expect(new Set(owners).size).toBe(100)
    expect(new Set(created.map((result) => (result as { order: Order }).order.id)).size).toBe(100)
    const outcomes = new Set(results.map((result) => result.outcome))
    expect([...outcomes].sort()).toEqual(['already-ordered', 'created', 'sold-out'])
    expect(await state.stockLeft()).toBe(0)
    const audit = await state.audit()
    expect(audit).toMatchObject({ stockLeft: 0, oversold: 0, usersWithSeveralLiveOrders: 0 })
    expect(audit.orders).toEqual({ pending: 100, paid: 0, closed: 0 })
  })

  it('turns away users without eligibility, and issues eligibility idempotently, up to a cap', async () => {
    const clock = createFakeClock()
    const { state } = await sale(5, clock, 2)
    expect(await state.purchase({ user: 'mallory', key: 'k1', now: clock() })).toEqual({
      outcome: 'not-eligible',
    })
    expect(await state.reserve('alice')).toBe('reserved')
    expect(await state.reserve('alice')).toBe('already-reserved')
    expect(await state.isEligible('alice')).toBe(true)
    expect(await state.reserve('bob')).toBe('reserved')
    expect(await state.reserve('carol')).toBe('full')
    expect(await state.isEligible('carol')).toBe(false)
    expect(await state.reserve('bob')).toBe('already-reserved')
    expect(await state.stockLeft()).toBe(5)
  })

  it.runIf(shared)(
    'keeps the sale the first process opened when another opens it with other figures',
    async () => {
      const clock = createFakeClock()
      const { state, meta } = await sale(5, clock)
      const second = make(meta.saleId)
      open.push(second)
      const joined = await second.open({
        ...meta,
        stockTotal: 999,
        startsAt: 1,
        paymentWindowMs: 1,
        maxReservations: 1,
      })
      expect(joined).toEqual(meta)
      expect(await state.stockLeft()).toBe(5)
    },
  )

  it('returns the same order for a retried purchase and refuses a second order for the user', async () => {
    const clock = createFakeClock()
    const { state } = await sale(5, clock)
    await buyers(state, 1)
    const first = await state.purchase({ user: 'user0', key: 'retry-me', now: clock() })
    expect(first.outcome).toBe('created')
    const order = (first as { order: Order }).order
    expect(order).toMatchObject({ user: 'user0', status: 'pending', payBy: clock() + WINDOW })
    clock.advance(1000)
    expect(await state.purchase({ user: 'user0', key: 'retry-me', now: clock() })).toEqual({
      outcome: 'replayed',
      order,
    })
    expect(await state.purchase({ user: 'user0', key: 'another', now: clock() })).toEqual({
      outcome: 'already-ordered',
      order,
    })
    expect(await state.stockLeft()).toBe(4)
  })

  it('closes orders left unpaid past the window and puts their stock back on sale', async () => {
    const clock = createFakeClock()
    const { state } = await sale(3, clock)
    const users = await buyers(state, 4)
    const orders: Order[] = []
    for (const user of users.slice(0, 3)) {
      const result = await state.purchase({ user, key: 'k', now: clock() })
      orders.push((result as { order: Order }).order)
    }
    expect(await state.purchase({ user: 'user3', key: 'k', now: clock() })).toEqual({ outcome: 'sold-out' })
    expect(await state.pay({ orderId: orders[0]!.id, user: 'user0', now: clock() + 1000 })).toMatchObject({
      outcome: 'paid',
    })

    clock.advance(WINDOW - 1)
    expect(await closeDueOrders(state, clock())).toBe(0)
    expect(await state.nextClosureAt()).toBe(orders[1]!.payBy)
    clock.advance(1)
    expect(await closeDueOrders(state, clock())).toBe(2)
    expect(await state.stockLeft()).toBe(2)
    expect(await state.order(orders[1]!.id)).toMatchObject({ status: 'closed', closedAt: clock() })
    expect(await state.order(orders[0]!.id)).toMatchObject({ status: 'paid' })
    expect(await state.nextClosureAt()).toBeUndefined()
    // Too late to pay a closed order; its stock has gone to someone else.
    expect(await state.pay({ orderId: orders[1]!.id, user: 'user1', now: clock() })).toMatchObject({
      outcome: 'closed',
    })
    expect(await state.purchase({ user: 'user3', key: 'k', now: clock() })).toMatchObject({
      outcome: 'created',
    })
    // The closed order's owner may try again with a new key; the old key replays the closed order.
    expect(await state.purchase({ user: 'user1', key: 'k', now: clock() })).toMatchObject({
      outcome: 'replayed',
      order: { status: 'closed' },
    })
    expect(await state.purchase({ user: 'user1', key: 'k2', now: clock() })).toMatchObject({
      outcome: 'created',
    })
    expect(await state.audit()).toMatchObject({
      stockLeft: 0,
      oversold: 0,
      usersWithSeveralLiveOrders: 0,
      orders: { pending: 2, paid: 1, closed: 2 },
    })
  })

  it('drops a paid order from the closures: once every order is paid, none is pending (the sale has ended)', async () => {
    const clock = createFakeClock()
    const { state } = await sale(2, clock)
    const users = await buyers(state, 2)
    const first = (await state.purchase({ user: users[0]!, key: 'k', now: clock() })) as { order: Order }
    clock.advance(1000)
    const second = (await state.purchase({ user: users[1]!, key: 'k', now: clock() })) as { order: Order }
    expect(await state.nextClosureAt()).toBe(first.order.payBy)
    await state.pay({ orderId: first.order.id, user: users[0]!, now: clock() })
    expect(await state.nextClosureAt()).toBe(second.order.payBy)
    await state.pay({ orderId: second.order.id, user: users[1]!, now: clock() })
    expect(await state.nextClosureAt()).toBeUndefined()
    expect(await state.stockLeft()).toBe(0)
  })

  it('lets exactly one of pay and close win when they race at the deadline', async () => {
    const clock = createFakeClock()
    const { state } = await sale(200, clock)
    const users = await buyers(state, 200)
    const orders = await Promise.all(
      users.map(
        async (user) => ((await state.purchase({ user, key: 'k', now: clock() })) as { order: Order }).order,
      ),
    )
    // The payer's request arrived 1 ms before the deadline, the closer runs at it; both
    // are valid on their own, and they are sent in alternating order.
    const deadline = clock() + WINDOW
    const results = await Promise.all(
      orders.map(async (order, i) => {
        const pay = () => state.pay({ orderId: order.id, user: order.user, now: deadline - 1 })
        const close = () => state.closeOrder({ orderId: order.id, now: deadline })
        const [a, b] = i % 2 === 0 ? await Promise.all([pay(), close()]) : await Promise.all([close(), pay()])
        return i % 2 === 0 ? { pay: a.outcome, close: b.outcome } : { pay: b.outcome, close: a.outcome }
      }),
    )
    let paid = 0
    let closed = 0
    for (const result of results) {
      const payWon = result.pay === 'paid'
      const closeWon = result.close === 'closed'
      expect(payWon !== closeWon, JSON.stringify(result)).toBe(true)
      if (payWon) {
        paid++
        expect(result.close).toBe('not-pending')
      } else {
        closed++
        expect(result.pay).toBe('closed')
      }
    }
    expect(paid).toBeGreaterThan(0)
    expect(closed).toBeGreaterThan(0)
    const audit = await state.audit()
    expect(audit.orders).toEqual({ pending: 0, paid, closed })
    expect(audit.stockLeft).toBe(closed)
    expect(audit.outbox).toEqual({ pending: paid, delivered: 0, dead: 0 })
  })

  it('delivers each paid order to the consumer through the outbox, once, retrying failures', async () => {
    const clock = createFakeClock()
    const { state } = await sale(3, clock)
    const users = await buyers(state, 3)
    for (const user of users) {
      const { order } = (await state.purchase({ user, key: 'k', now: clock() })) as { order: Order }
      await state.pay({ orderId: order.id, user, now: clock() })
    }
    const ledger = new MemoryPointsLedger()
    const failures = new Map([
      ['user1', 2],
      ['user2', 99],
    ])
    const deliver = async (message: {
      id: string
      user: string
      type: 'order-paid'
      orderId: string
      createdAt: number
    }) => {
      const left = failures.get(message.user) ?? 0
      if (left > 0) {
        failures.set(message.user, left - 1)
        throw new Error('SMS gateway down')
      }
      await ledger.deliver(message)
    }
    const policy = { maxAttempts: 3, backoffMs: 1000, leaseMs: 30_000 }

    expect(await relayOutbox(state, deliver, clock(), policy)).toEqual({ delivered: 1, retrying: 2, dead: 0 })
    // Nothing is due before the backoff has passed.
    expect(await relayOutbox(state, deliver, clock.advance(999), policy)).toEqual({
      delivered: 0,
      retrying: 0,
      dead: 0,
    })
    expect(await relayOutbox(state, deliver, clock.advance(1), policy)).toEqual({
      delivered: 0,
      retrying: 2,
      dead: 0,
    })
    // The backoff doubles: 2 s after the second failure.
    expect(await state.nextOutboxAt()).toBe(clock() + 2000)
    expect(await relayOutbox(state, deliver, clock.advance(2000), policy)).toEqual({
      delivered: 1,
      retrying: 0,
      dead: 1,
    })
    expect(await state.nextOutboxAt()).toBeUndefined()
    expect((await state.audit()).outbox).toEqual({ pending: 0, delivered: 2, dead: 1 })
    expect(await ledger.points('user0')).toBe(10)
    expect(await ledger.points('user1')).toBe(10)
    expect(await ledger.points('user2')).toBe(0)
  })

  it('re-delivers a message whose relay died mid-delivery, and the consumer applies it once', async () => {
    const clock = createFakeClock()
    const { state } = await sale(1, clock)
    await buyers(state, 1)
    const { order } = (await state.purchase({ user: 'user0', key: 'k', now: clock() })) as { order: Order }
    await state.pay({ orderId: order.id, user: 'user0', now: clock() })
    const ledger = new MemoryPointsLedger()
    // A relay claims the message, delivers it, and dies before acknowledging.
    const [claimed] = await state.claimOutbox(clock(), 10, 30_000)
    expect(claimed).toMatchObject({ attempt: 1, message: { id: `paid:${order.id}`, user: 'user0' } })
    await ledger.deliver(claimed!.message)
    // Hidden while the lease lasts, handed out again after it.
    expect(await state.claimOutbox(clock.advance(29_999), 10, 30_000)).toEqual([])
    const policy = { maxAttempts: 5, backoffMs: 1000, leaseMs: 30_000 }
    const pass = await relayOutbox(state, (message) => ledger.deliver(message), clock.advance(1), policy)
    expect(pass).toEqual({ delivered: 1, retrying: 0, dead: 0 })
    expect(ledger.received).toBe(2)
    expect(await ledger.points('user0')).toBe(10)
  })
}
