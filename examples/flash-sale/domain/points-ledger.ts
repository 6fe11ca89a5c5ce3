import { Redis } from 'ioredis'
import { closeClient, luaScript } from './lua-script'
import type { OutboxMessage } from './order'

/** Loyalty points awarded for each paid order. */
export const POINTS_PER_ORDER = 10

/**
 * The consumer at the end of the outbox: it awards points for a paid order (and would send
 * the SMS). Delivery is at least once, so it remembers which messages it has applied and
 * applies each exactly once. `deliver` throwing asks the relay for another attempt.
 */
export interface PointsLedger {
  deliver(message: OutboxMessage): Promise<void>
  points(user: string): Promise<number>
  /** Deliveries received, duplicates included (to show idempotency at work). */
  readonly received: number
  dispose(): Promise<void>
}

export class MemoryPointsLedger implements PointsLedger {
  readonly #applied = new Set<string>()
  readonly #points = new Map<string, number>()
  received = 0

  async deliver(message: OutboxMessage): Promise<void> {
    this.received++
    if (this.#applied.has(message.id)) return
    this.#applied.add(message.id)
    this.#points.set(message.user, (this.#points.get(message.user) ?? 0) + POINTS_PER_ORDER)
  }

  async points(user: string): Promise<number> {
    return this.#points.get(user) ?? 0
  }

  async dispose(): Promise<void> {}
}

/** KEYS: applied (set of message ids), points (hash user → points). */
const APPLY_LUA = `
local id = ARGV[1]               -- message id
local user = ARGV[2]             -- account id
local points = tonumber(ARGV[3]) -- points to award
if redis.call('SADD', KEYS[1], id) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], user, points)
return 1
`
const apply = luaScript(APPLY_LUA)

/** The ledger in Redis: marking the message applied and adding the points is one script. */
export class RedisPointsLedger implements PointsLedger {
  readonly #redis: Redis
  readonly #applied: string
  readonly #points: string
  received = 0

  constructor(options: { url: string; saleId: string; commandTimeoutMs?: number }) {
    this.#redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 2000,
      maxRetriesPerRequest: 1,
    })
    this.#redis.on('error', () => {})
    this.#applied = `points:{${options.saleId}}:applied`
    this.#points = `points:{${options.saleId}}:points`
  }

  async deliver(message: OutboxMessage): Promise<void> {
    this.received++
    await apply(this.#redis, [this.#applied, this.#points], [message.id, message.user, POINTS_PER_ORDER])
  }

  async points(user: string): Promise<number> {
    return Number((await this.#redis.hget(this.#points, user)) ?? 0)
  }

  async dispose(): Promise<void> {
    await closeClient(this.#redis)
  }
}
