import type {
  ClaimedMessage,
  CloseResult,
  Order,
  OutboxMessage,
  PayResult,
  SaleAudit,
} from '../../domain/order'
import type {
  OutboxRetryPolicy,
  PurchaseInput,
  ReserveOutcome,
  SaleMeta,
  SaleState,
} from '../../domain/sale-state'
import { TimerHeap } from './timer-heap'

type OutboxState = 'pending' | 'delivered' | 'dead'

/**
 * The sale in process memory. Every method runs to completion without awaiting anything, so
 * on Node's single thread each one is as atomic as the Lua script it mirrors in Redis mode:
 * two buyers can never both see the last item, a payer and the closer can never both win.
 * The promises only keep the interface the same as Redis's.
 */
export class MemorySaleState implements SaleState {
  #meta: SaleMeta | undefined
  #stock = 0
  readonly #eligible = new Set<string>()
  readonly #orders = new Map<string, Order>()
  /** user → id of their live (pending or paid) order. */
  readonly #holder = new Map<string, string>()
  /** user → id of the last order they had, live or not. */
  readonly #last = new Map<string, string>()
  /** `user|key` → order id. */
  readonly #idempotency = new Map<string, string>()
  readonly #closures = new TimerHeap()
  readonly #outbox = new Map<string, { message: OutboxMessage; state: OutboxState; attempts: number }>()
  readonly #outboxDue = new TimerHeap()
  #sequence = 0

  async open(meta: SaleMeta): Promise<SaleMeta> {
    if (this.#meta === undefined) {
      this.#meta = { ...meta }
      this.#stock = meta.stockTotal
    }
    return { ...this.#meta }
  }

  async reserve(user: string): Promise<ReserveOutcome> {
    if (this.#eligible.has(user)) return 'already-reserved'
    if (this.#eligible.size >= this.#opened().maxReservations) return 'full'
    this.#eligible.add(user)
    return 'reserved'
  }

  async isEligible(user: string): Promise<boolean> {
    return this.#eligible.has(user)
  }

  async purchase({ user, key, now }: PurchaseInput) {
    const meta = this.#opened()
    const replayed = this.#idempotency.get(`${user}|${key}`)
    if (replayed !== undefined) return { outcome: 'replayed' as const, order: this.#copy(replayed) }
    if (!this.#eligible.has(user)) return { outcome: 'not-eligible' as const }
    const held = this.#holder.get(user)
    if (held !== undefined) return { outcome: 'already-ordered' as const, order: this.#copy(held) }
    if (this.#stock <= 0) return { outcome: 'sold-out' as const }
    this.#stock--
    this.#sequence++
    const order: Order = {
      id: orderId(meta.saleId, this.#sequence),
      user,
      status: 'pending',
      createdAt: now,
      payBy: now + meta.paymentWindowMs,
    }
    this.#orders.set(order.id, order)
    this.#holder.set(user, order.id)
    this.#last.set(user, order.id)
    this.#idempotency.set(`${user}|${key}`, order.id)
    this.#closures.schedule(order.id, order.payBy)
    return { outcome: 'created' as const, order: { ...order } }
  }

  async pay({ orderId, user, now }: { orderId: string; user: string; now: number }): Promise<PayResult> {
    const order = this.#orders.get(orderId)
    if (order === undefined || order.user !== user) return { outcome: 'not-found' }
    if (order.status === 'paid') return { outcome: 'already-paid', order: { ...order } }
    if (order.status === 'closed') return { outcome: 'closed', order: { ...order } }
    if (now >= order.payBy) return { outcome: 'expired', order: { ...order } }
    order.status = 'paid'
    order.paidAt = now
    this.#closures.cancel(orderId)
    const message: OutboxMessage = {
      id: `paid:${orderId}`,
      type: 'order-paid',
      orderId,
      user,
      createdAt: now,
    }
    this.#outbox.set(message.id, { message, state: 'pending', attempts: 0 })
    this.#outboxDue.schedule(message.id, now)
    return { outcome: 'paid', order: { ...order } }
  }

  async closeOrder({ orderId, now }: { orderId: string; now: number }): Promise<CloseResult> {
    const order = this.#orders.get(orderId)
    if (order === undefined) {
      this.#closures.cancel(orderId)
      return { outcome: 'not-found' }
    }
    if (order.status !== 'pending') {
      this.#closures.cancel(orderId)
      return { outcome: 'not-pending', order: { ...order } }
    }
    if (now < order.payBy) return { outcome: 'not-due', order: { ...order } }
    order.status = 'closed'
    order.closedAt = now
    this.#stock++
    if (this.#holder.get(order.user) === orderId) this.#holder.delete(order.user)
    this.#closures.cancel(orderId)
    return { outcome: 'closed', order: { ...order } }
  }

  async dueClosures(now: number, max: number): Promise<string[]> {
    return this.#closures.due(now, max)
  }

  async nextClosureAt(): Promise<number | undefined> {
    return this.#closures.nextAt()
  }

  async order(orderId: string): Promise<Order | undefined> {
    const order = this.#orders.get(orderId)
    return order && { ...order }
  }

  async orderOf(user: string): Promise<Order | undefined> {
    const id = this.#holder.get(user) ?? this.#last.get(user)
    return id === undefined ? undefined : this.#copy(id)
  }

  async stockLeft(): Promise<number> {
    return this.#stock
  }

  async claimOutbox(now: number, max: number, leaseMs: number): Promise<ClaimedMessage[]> {
    const claimed: ClaimedMessage[] = []
    for (const id of this.#outboxDue.due(now, max)) {
      const entry = this.#outbox.get(id)
      if (entry === undefined || entry.state !== 'pending') {
        this.#outboxDue.cancel(id)
        continue
      }
      entry.attempts++
      this.#outboxDue.schedule(id, now + leaseMs)
      claimed.push({ message: { ...entry.message }, attempt: entry.attempts })
    }
    return claimed
  }

  async ackOutbox(messageId: string): Promise<void> {
    const entry = this.#outbox.get(messageId)
    if (entry !== undefined) entry.state = 'delivered'
    this.#outboxDue.cancel(messageId)
  }

  async failOutbox(messageId: string, now: number, policy: OutboxRetryPolicy): Promise<'retry' | 'dead'> {
    const entry = this.#outbox.get(messageId)
    if (entry === undefined || entry.state !== 'pending') return 'dead'
    if (entry.attempts >= policy.maxAttempts) {
      entry.state = 'dead'
      this.#outboxDue.cancel(messageId)
      return 'dead'
    }
    this.#outboxDue.schedule(messageId, now + policy.backoffMs * 2 ** (entry.attempts - 1))
    return 'retry'
  }

  async nextOutboxAt(): Promise<number | undefined> {
    return this.#outboxDue.nextAt()
  }

  async audit(): Promise<SaleAudit> {
    const meta = this.#opened()
    const orders = { pending: 0, paid: 0, closed: 0 }
    const live = new Map<string, number>()
    for (const order of this.#orders.values()) {
      orders[order.status]++
      if (order.status !== 'closed') live.set(order.user, (live.get(order.user) ?? 0) + 1)
    }
    const outbox = { pending: 0, delivered: 0, dead: 0 }
    for (const entry of this.#outbox.values()) outbox[entry.state]++
    return {
      stockTotal: meta.stockTotal,
      stockLeft: this.#stock,
      orders,
      usersWithSeveralLiveOrders: [...live.values()].filter((count) => count > 1).length,
      oversold: Math.max(0, orders.pending + orders.paid - meta.stockTotal),
      outbox,
    }
  }

  async dispose(): Promise<void> {}

  #opened(): SaleMeta {
    if (this.#meta === undefined) throw new Error('sale state: open() the sale first')
    return this.#meta
  }

  #copy(orderId: string): Order {
    return { ...(this.#orders.get(orderId) as Order) }
  }
}

/** Order numbers people can read out on the phone: `<sale>-000042`. */
export function orderId(saleId: string, sequence: number): string {
  return `${saleId}-${String(sequence).padStart(6, '0')}`
}
