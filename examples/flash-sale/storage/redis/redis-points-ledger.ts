import { RedisScript } from 'diana-limiter'
import { Redis } from 'ioredis'
import type { OutboxMessage } from '../../domain/order'
import { POINTS_PER_ORDER, type PointsLedger } from '../../domain/points-ledger'
import { closeClient } from './close-client'

/** KEYS: applied (set of message ids), points (hash user → points). */
const APPLY_LUA = `
local id = ARGV[1]               -- message id
local user = ARGV[2]             -- account id
local points = tonumber(ARGV[3]) -- points to award
if redis.call('SADD', KEYS[1], id) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], user, points)
return 1
`
const apply = new RedisScript(APPLY_LUA)

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
    await apply.run(
      this.#redis,
      [this.#applied, this.#points],
      [message.id, message.user, String(POINTS_PER_ORDER)],
    )
  }

  async points(user: string): Promise<number> {
    return Number((await this.#redis.hget(this.#points, user)) ?? 0)
  }

  async dispose(): Promise<void> {
    await closeClient(this.#redis)
  }
}
