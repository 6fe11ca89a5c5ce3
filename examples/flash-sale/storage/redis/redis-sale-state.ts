import { RedisScript } from 'diana-limiter'
import { Redis } from 'ioredis'
import type {
  ClaimedMessage,
  CloseResult,
  Order,
  OutboxMessage,
  PayResult,
  PurchaseResult,
  SaleAudit,
} from '../../domain/order'
import type {
  OutboxRetryPolicy,
  PurchaseInput,
  ReserveOutcome,
  SaleMeta,
  SaleState,
} from '../../domain/sale-state'
import { closeClient } from './close-client'
import {
  ACK_OUTBOX_LUA,
  CLAIM_OUTBOX_LUA,
  CLOSE_LUA,
  FAIL_OUTBOX_LUA,
  OPEN_LUA,
  PAY_LUA,
  PURCHASE_LUA,
  RESERVE_LUA,
  type SaleKeys,
  saleKeys,
} from './redis-scripts'

const open = new RedisScript(OPEN_LUA)
const reserve = new RedisScript(RESERVE_LUA)
const purchase = new RedisScript(PURCHASE_LUA)
const pay = new RedisScript(PAY_LUA)
const close = new RedisScript(CLOSE_LUA)
const claimOutbox = new RedisScript(CLAIM_OUTBOX_LUA)
const ackOutbox = new RedisScript(ACK_OUTBOX_LUA)
const failOutbox = new RedisScript(FAIL_OUTBOX_LUA)

export interface RedisSaleStateOptions {
  /** `redis://host:port/db`. */
  url: string
  saleId: string
  /**
   * Longest wait for any one Redis command; a slow or lost server turns into an error the
   * HTTP layer answers with 503, never a request that hangs.
   * @default 2000
   */
  commandTimeoutMs?: number
}

/**
 * The sale in Redis, shared by every shop process that opens the same sale id. Stock,
 * eligibility, orders, the delay queue (a sorted set of order ids scored by their pay-by time)
 * and the outbox all live there, so a shop restart loses nothing and any process may close an
 * order or deliver a message: the scripts make each step happen once.
 */
export class RedisSaleState implements SaleState {
  readonly #redis: Redis
  readonly #keys: SaleKeys

  constructor(options: RedisSaleStateOptions) {
    this.#keys = saleKeys(options.saleId)
    this.#redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    })
    // Connection errors surface through the commands that fail; don't crash on the event.
    this.#redis.on('error', () => {})
  }

  async open(meta: SaleMeta): Promise<SaleMeta> {
    const k = this.#keys
    const stored = (await this.#run(
      open,
      [k.meta, k.stock],
      [meta.saleId, meta.stockTotal, meta.startsAt, meta.paymentWindowMs, meta.maxReservations],
    )) as string[]
    return {
      saleId: stored[0] as string,
      stockTotal: Number(stored[1]),
      startsAt: Number(stored[2]),
      paymentWindowMs: Number(stored[3]),
      maxReservations: Number(stored[4]),
    }
  }

  async reserve(user: string): Promise<ReserveOutcome> {
    return (await this.#run(reserve, [this.#keys.meta, this.#keys.eligible], [user])) as ReserveOutcome
  }

  async isEligible(user: string): Promise<boolean> {
    return (await this.#redis.sismember(this.#keys.eligible, user)) === 1
  }

  async purchase({ user, key, now }: PurchaseInput) {
    const k = this.#keys
    const [outcome, json] = (await this.#run(
      purchase,
      [k.meta, k.eligible, k.holder, k.last, k.idempotency, k.stock, k.sequence, k.orders, k.closures],
      [user, key, now],
    )) as [string, string | undefined]
    return withOrder(outcome, json) as Exclude<PurchaseResult, { outcome: 'not-started' }>
  }

  async pay({ orderId, user, now }: { orderId: string; user: string; now: number }): Promise<PayResult> {
    const k = this.#keys
    const [outcome, json] = (await this.#run(
      pay,
      [k.orders, k.closures, k.outbox, k.outboxState, k.outboxDue],
      [orderId, user, now],
    )) as [string, string | undefined]
    return withOrder(outcome, json) as PayResult
  }

  async closeOrder({ orderId, now }: { orderId: string; now: number }): Promise<CloseResult> {
    const k = this.#keys
    const [outcome, json] = (await this.#run(
      close,
      [k.orders, k.closures, k.stock, k.holder],
      [orderId, now],
    )) as [string, string | undefined]
    return withOrder(outcome, json) as CloseResult
  }

  dueClosures(now: number, max: number): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#keys.closures, '-inf', now, 'LIMIT', 0, max)
  }

  nextClosureAt(): Promise<number | undefined> {
    return this.#earliest(this.#keys.closures)
  }

  async order(orderId: string): Promise<Order | undefined> {
    const json = await this.#redis.hget(this.#keys.orders, orderId)
    return json === null ? undefined : (JSON.parse(json) as Order)
  }

  async orderOf(user: string): Promise<Order | undefined> {
    const id =
      (await this.#redis.hget(this.#keys.holder, user)) ?? (await this.#redis.hget(this.#keys.last, user))
    return id === null ? undefined : this.order(id)
  }

  async stockLeft(): Promise<number> {
    return Number((await this.#redis.get(this.#keys.stock)) ?? 0)
  }

  async claimOutbox(now: number, max: number, leaseMs: number): Promise<ClaimedMessage[]> {
    const k = this.#keys
    const flat = (await this.#run(
      claimOutbox,
      [k.outbox, k.outboxState, k.outboxAttempts, k.outboxDue],
      [now, leaseMs, max],
    )) as (string | number)[]
    const claimed: ClaimedMessage[] = []
    for (let i = 0; i + 2 < flat.length; i += 3) {
      claimed.push({
        attempt: Number(flat[i + 1]),
        message: JSON.parse(String(flat[i + 2])) as OutboxMessage,
      })
    }
    return claimed
  }

  async ackOutbox(messageId: string): Promise<void> {
    await this.#run(ackOutbox, [this.#keys.outboxState, this.#keys.outboxDue], [messageId])
  }

  async failOutbox(messageId: string, now: number, policy: OutboxRetryPolicy): Promise<'retry' | 'dead'> {
    const k = this.#keys
    return (await this.#run(
      failOutbox,
      [k.outboxState, k.outboxAttempts, k.outboxDue],
      [messageId, now, policy.maxAttempts, policy.backoffMs],
    )) as 'retry' | 'dead'
  }

  nextOutboxAt(): Promise<number | undefined> {
    return this.#earliest(this.#keys.outboxDue)
  }

  async audit(): Promise<SaleAudit> {
    const k = this.#keys
    const [stockTotal, stockLeft, orderJson, outboxStates] = await Promise.all([
      this.#redis.hget(k.meta, 'stockTotal'),
      this.#redis.get(k.stock),
      this.#redis.hvals(k.orders),
      this.#redis.hvals(k.outboxState),
    ])
    const orders = { pending: 0, paid: 0, closed: 0 }
    const live = new Map<string, number>()
    for (const json of orderJson) {
      const order = JSON.parse(json) as Order
      orders[order.status]++
      if (order.status !== 'closed') live.set(order.user, (live.get(order.user) ?? 0) + 1)
    }
    const outbox = { pending: 0, delivered: 0, dead: 0 }
    for (const state of outboxStates) outbox[state as keyof typeof outbox]++
    const total = Number(stockTotal ?? 0)
    return {
      stockTotal: total,
      stockLeft: Number(stockLeft ?? 0),
      orders,
      usersWithSeveralLiveOrders: [...live.values()].filter((count) => count > 1).length,
      oversold: Math.max(0, orders.pending + orders.paid - total),
      outbox,
    }
  }

  async dispose(): Promise<void> {
    await closeClient(this.#redis)
  }

  /**
   * Diana's script runner (EVALSHA, then EVAL on NOSCRIPT after a restart or a SCRIPT FLUSH);
   * Redis takes every argument as a string, so numbers are written out here.
   */
  #run(script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return script.run(this.#redis, keys, args.map(String))
  }

  async #earliest(key: string): Promise<number | undefined> {
    const [, score] = await this.#redis.zrange(key, 0, 0, 'WITHSCORES')
    return score === undefined ? undefined : Number(score)
  }
}

function withOrder(outcome: string, json: string | undefined) {
  return json === undefined ? { outcome } : { outcome, order: JSON.parse(json) as Order }
}
