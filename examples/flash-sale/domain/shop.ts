import type { Clock } from 'diana-limiter'
import { closeDueOrders } from './closer'
import type { Order, PayResult, PurchaseResult, SaleAudit } from './order'
import {
  DEFAULT_OUTBOX_RELAY_OPTIONS,
  type OutboxRelayOptions,
  type RelayPass,
  relayOutbox,
} from './outbox-relay'
import type { PointsLedger } from './points-ledger'
import type { ReserveOutcome, SaleMeta, SaleState } from './sale-state'

export interface ShopOptions {
  state: SaleState
  /** The sale to open; if the state already holds one with this id, that one wins. */
  sale: SaleMeta
  /** The idempotent consumer of "order paid" messages. */
  ledger: PointsLedger
  /** Epoch ms. Tests inject a fake one, so payment windows pass without sleeping. */
  clock: Clock
  /** @default DEFAULT_OUTBOX_RELAY_OPTIONS */
  outbox?: OutboxRelayOptions
  /**
   * Longest sleep of the background workers between passes. Memory mode wakes exactly when the
   * next order is due; this bounds the wait when another process may have scheduled work.
   * @default 500
   */
  pollMs?: number
  /** Where background worker errors go. @default console.error */
  onWorkerError?: (error: unknown) => void
}

export interface SaleInfo extends SaleMeta {
  stockLeft: number
  /**
   * Some order still waits for payment: if it is not paid in time its item goes back on sale.
   * With no stock left, this is what tells "sold out, for now" from "the sale has ended".
   */
  awaitingPayment: boolean
  /** The shop's "now", so pages can count down without trusting the visitor's clock. */
  now: number
}

/**
 * The flash sale's use cases — reserve, purchase, pay — and its two background workers: the
 * closer (delay queue) and the outbox relay. It holds no state of its own beyond timers, so
 * any number of shop processes can serve one sale stored in Redis.
 */
export class Shop {
  readonly state: SaleState
  readonly ledger: PointsLedger
  readonly meta: SaleMeta
  readonly #clock: Clock
  readonly #outbox: OutboxRelayOptions
  readonly #pollMs: number
  readonly #onWorkerError: (error: unknown) => void
  readonly #timers = new Set<NodeJS.Timeout>()
  #running = false

  private constructor(options: ShopOptions, meta: SaleMeta) {
    this.state = options.state
    this.ledger = options.ledger
    this.meta = meta
    this.#clock = options.clock
    this.#outbox = options.outbox ?? DEFAULT_OUTBOX_RELAY_OPTIONS
    this.#pollMs = options.pollMs ?? 500
    this.#onWorkerError = options.onWorkerError ?? ((error) => console.error('[flash-sale] worker:', error))
  }

  /** Opens (or joins) the sale. Workers start with {@link Shop.start}. */
  static async open(options: ShopOptions): Promise<Shop> {
    const meta = await options.state.open(options.sale)
    return new Shop(options, meta)
  }

  now(): number {
    return this.#clock()
  }

  async info(): Promise<SaleInfo> {
    // Pending orders are exactly the scheduled closures: paying or closing one cancels it.
    const [stockLeft, nextClosure] = await Promise.all([this.state.stockLeft(), this.state.nextClosureAt()])
    return { ...this.meta, stockLeft, awaitingPayment: nextClosure !== undefined, now: this.#clock() }
  }

  /** Phase 1: purchase eligibility. Idempotent. */
  reserve(user: string): Promise<ReserveOutcome> {
    return this.state.reserve(user)
  }

  /** Phase 3: atomic stock pre-deduction; the order starts `pending`. */
  async purchase(user: string, key: string): Promise<PurchaseResult> {
    const now = this.#clock()
    if (now < this.meta.startsAt) return { outcome: 'not-started', startsAt: this.meta.startsAt }
    return this.state.purchase({ user, key, now })
  }

  /** Phase 4: pay a pending order within its window; records the outbox message in the same step. */
  pay(user: string, orderId: string): Promise<PayResult> {
    return this.state.pay({ orderId, user, now: this.#clock() })
  }

  order(orderId: string): Promise<Order | undefined> {
    return this.state.order(orderId)
  }

  orderOf(user: string): Promise<Order | undefined> {
    return this.state.orderOf(user)
  }

  audit(): Promise<SaleAudit> {
    return this.state.audit()
  }

  /** One closer pass at the shop's current time; the worker calls it, tests call it directly. */
  closeDue(): Promise<number> {
    return closeDueOrders(this.state, this.#clock())
  }

  /** One outbox relay pass at the shop's current time. */
  relay(): Promise<RelayPass> {
    return relayOutbox(this.state, (message) => this.ledger.deliver(message), this.#clock(), this.#outbox)
  }

  /** Starts the closer and the outbox relay; each sleeps until its next item is due. */
  start(): void {
    if (this.#running) return
    this.#running = true
    this.#loop(
      () => this.closeDue(),
      () => this.state.nextClosureAt(),
    )
    this.#loop(
      () => this.relay(),
      () => this.state.nextOutboxAt(),
    )
  }

  /** Stops the workers and releases the state's and ledger's connections. */
  async close(): Promise<void> {
    this.#running = false
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    await Promise.all([this.state.dispose(), this.ledger.dispose()])
  }

  #loop(pass: () => Promise<unknown>, nextAt: () => Promise<number | undefined>): void {
    const run = async () => {
      let waitMs = this.#pollMs
      try {
        await pass()
        const next = await nextAt()
        if (next !== undefined) waitMs = Math.min(waitMs, Math.max(0, next - this.#clock()))
      } catch (error) {
        if (!this.#running) return
        this.#onWorkerError(error)
      }
      if (!this.#running) return
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        void run()
      }, waitMs)
      this.#timers.add(timer)
    }
    void run()
  }
}
