import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Clock, createLimiter, type Limiter, type Rule } from 'diana-limiter'
import { diana } from 'diana-limiter/express'
import type { OutboxRelayOptions } from './domain/outbox-relay'
import type { PointsLedger } from './domain/points-ledger'
import type { SaleState } from './domain/sale-state'
import { Shop } from './domain/shop'
import { createApp, isCacheableRead, type NodeHandler, priorityOf } from './http/app'
import { deviceSecretOf } from './http/device-ids'
import { Sessions } from './http/session'
import type { ShopConfig } from './shop-config'
import { MemoryPointsLedger } from './storage/memory/memory-points-ledger'
import { MemorySaleState } from './storage/memory/memory-sale-state'
import { RedisPointsLedger } from './storage/redis/redis-points-ledger'
import { RedisSaleState } from './storage/redis/redis-sale-state'

export interface StartOptions {
  /** @default Date.now */
  clock?: Clock
  /** Rules instead of the YAML file's (tests). */
  rules?: Rule[]
  /** Reload the Diana YAML file when it changes. @default true */
  watchConfig?: boolean
  /** A different consumer of "order paid" messages (tests: a flaky one). */
  ledger?: PointsLedger
  outbox?: OutboxRelayOptions
  /** Run the closer and outbox relay in the background. @default true */
  workers?: boolean
  /**
   * Handlers to serve beside the shop by path prefix, built from the shop's limiter: where an
   * operations page such as `{ '/diana': dashboard(limiter, options) }` is mounted.
   */
  mounts?: (limiter: Limiter) => Record<string, NodeHandler>
}

export interface RunningShop {
  shop: Shop
  limiter: Limiter
  server: Server
  /** `http://host:port`, with the port actually bound. */
  url: string
  /** Stops accepting requests, stops the workers, releases connections. */
  close(): Promise<void>
}

/**
 * The composition root: picks memory or Redis state, puts Diana in front of the shop and
 * starts listening. Everything the demo, the tests and the load driver run goes through here.
 */
export async function startShop(config: ShopConfig, options: StartOptions = {}): Promise<RunningShop> {
  const clock = options.clock ?? Date.now
  const redis = config.redisUrl
  const state: SaleState = redis
    ? new RedisSaleState({ url: redis, saleId: config.saleId })
    : new MemorySaleState()
  const ledger =
    options.ledger ??
    (redis ? new RedisPointsLedger({ url: redis, saleId: config.saleId }) : new MemoryPointsLedger())
  const shop = await Shop.open({
    state,
    ledger,
    clock,
    sale: {
      saleId: config.saleId,
      stockTotal: config.stock,
      startsAt: config.startsAt,
      paymentWindowMs: config.paymentWindowMs,
      maxReservations: config.maxReservations,
    },
    ...(options.outbox && { outbox: options.outbox }),
  })
  const sessions = new Sessions(config.secret)
  const deviceSecret = deviceSecretOf(config.secret)
  // In Redis mode the counters are shared too, so the quotas hold across every shop process.
  // A stampede keeps this event loop busy, so replies are read late: a 250 ms timeout (not the
  // store's 50 ms) keeps Diana on the shared counters instead of falling back to local ones.
  // Edit diana.yaml while the demo runs: a valid edit is in force within a second.
  const limiter = createLimiter({
    ...(options.rules
      ? { rules: options.rules }
      : { config: config.dianaConfig, watch: options.watchConfig ?? true }),
    clock,
    ...(redis && { store: { type: 'redis' as const, url: redis, commandTimeoutMs: 250 } }),
  })
  // A bad mount or a port in use must not leave the sale's connections and the limiter open.
  let server: Server
  try {
    const built = createApp({
      shop,
      sessions,
      product: config.product,
      cooldownMs: config.cooldownMs,
      deviceSecret,
      ...(options.mounts && { mounts: options.mounts(limiter) }),
      // Only device ids the shop signed count; anything else is counted by the client address.
      rateLimit: diana({
        limiter,
        identify: (req) => sessions.user(req),
        deviceSecret,
        skip: isCacheableRead,
        prioritize: priorityOf,
      }),
    })
    server = await new Promise<Server>((resolve, reject) => {
      const listening = built.listen(config.port, config.host, (error?: Error) =>
        error ? reject(error) : resolve(listening),
      )
    })
  } catch (error) {
    await Promise.all([shop.close(), limiter.close()])
    throw error
  }
  server.keepAliveTimeout = 5000
  if (options.workers !== false) shop.start()
  const { port } = server.address() as AddressInfo
  return {
    shop,
    limiter,
    server,
    url: `http://${config.host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await shop.close()
      await limiter.close()
    },
  }
}
