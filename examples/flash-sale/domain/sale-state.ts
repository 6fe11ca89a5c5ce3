import type { ClaimedMessage, CloseResult, Order, PayResult, PurchaseResult, SaleAudit } from './order'

/** The fixed facts of one sale. The first shop process to open a sale decides them. */
export interface SaleMeta {
  saleId: string
  stockTotal: number
  /** Epoch ms when purchases open. */
  startsAt: number
  /** How long a pending order may wait for payment before the closer returns its stock. */
  paymentWindowMs: number
  /** Most users that may hold eligibility: keeps the sale's memory bounded whatever signs up. */
  maxReservations: number
}

/** `reserved` the first time, `already-reserved` after; `full` once `maxReservations` hold it. */
export type ReserveOutcome = 'reserved' | 'already-reserved' | 'full'

export interface PurchaseInput {
  user: string
  /** Idempotency key chosen by the client: a retry with the same key gets the same order. */
  key: string
  now: number
}

export interface OutboxRetryPolicy {
  /** Deliveries tried before a message is parked as dead. */
  maxAttempts: number
  /** Wait before the second attempt; it doubles with each further attempt. */
  backoffMs: number
}

/**
 * Everything a sale remembers: stock, eligibility, orders, the delay queue of pending closures
 * and the outbox. Each method is one atomic step (one Lua script in Redis, one synchronous
 * block in memory), so concurrent buyers, payers and closers can never interleave inside it.
 * `now` is always passed in: the shop's clock, not the store's, decides time.
 */
export interface SaleState {
  /** Creates the sale, or adopts the one already stored under the same id (first writer wins). */
  open(meta: SaleMeta): Promise<SaleMeta>
  /** Grants purchase eligibility; idempotent. */
  reserve(user: string): Promise<ReserveOutcome>
  isEligible(user: string): Promise<boolean>
  /** Eligibility, one live order per user, stock > 0, decrement, record, schedule the closure. */
  purchase(input: PurchaseInput): Promise<Exclude<PurchaseResult, { outcome: 'not-started' }>>
  /** pending → paid, and the outbox message, in one step. */
  pay(input: { orderId: string; user: string; now: number }): Promise<PayResult>
  /** pending → closed once the payment window has passed, and the stock goes back. */
  closeOrder(input: { orderId: string; now: number }): Promise<CloseResult>
  /** Order ids whose payment window has passed, earliest first. */
  dueClosures(now: number, max: number): Promise<string[]>
  /** When the earliest pending closure is due, if any. */
  nextClosureAt(): Promise<number | undefined>
  order(orderId: string): Promise<Order | undefined>
  /** The user's live order, else the last one they had. */
  orderOf(user: string): Promise<Order | undefined>
  stockLeft(): Promise<number>
  /**
   * Hands out due outbox messages and hides them for `leaseMs`, so a relay that dies mid-delivery
   * only delays them. Delivery is therefore at least once; consumers must be idempotent.
   */
  claimOutbox(now: number, max: number, leaseMs: number): Promise<ClaimedMessage[]>
  ackOutbox(messageId: string): Promise<void>
  /** Schedules another attempt, or parks the message as dead after the last one. */
  failOutbox(messageId: string, now: number, policy: OutboxRetryPolicy): Promise<'retry' | 'dead'>
  nextOutboxAt(): Promise<number | undefined>
  audit(): Promise<SaleAudit>
  /** Releases connections; the state itself stays (Redis) or goes with the process (memory). */
  dispose(): Promise<void>
}
