import type { Cluster, ClusterNode, ClusterOptions, Redis } from 'ioredis'
import { hint } from '../../did-you-mean'
import type { Logger } from '../../logger'
import { KEY_PREFIX_PATTERN } from './keys'

/** What the store does while Redis cannot be reached. */
export type FailurePolicy = 'fallback' | 'open' | 'closed'

/** @deprecated The same type as {@link Logger}; use that. */
export type StoreLogger = Logger

export interface RedisStoreOptions {
  type: 'redis'
  /**
   * Connection URL for a single Redis, e.g. `redis://127.0.0.1:6379/0` or `rediss://...`.
   * Ignored when `client` or `cluster` is given.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string
  /**
   * A ready ioredis `Redis` or `Cluster`. The store does not close it; its own timeouts and
   * offline queue stay as you set them, while every call of the store is still bounded by
   * {@link RedisStoreOptions.commandTimeoutMs}.
   */
  client?: Redis | Cluster
  /**
   * Redis Cluster seed nodes (`'redis://10.0.0.1:7000'`, `{ host, port }`), with optional
   * ioredis Cluster options merged over Diana's defaults.
   * @example { nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] }
   */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions }
  /**
   * While Redis cannot be reached: `fallback` limits locally (each rule's limit divided by
   * the live Diana instances last seen, or its `fallbackLimit`), `open` allows everything,
   * `closed` denies everything. Such decisions have `degraded: true`.
   * @default 'fallback'
   */
  onFailure?: FailurePolicy
  /**
   * The longest a check waits for Redis, in ms, before it is decided locally and counted as
   * a failure. Covers the whole check (EVALSHA, a NOSCRIPT reload, Cluster redirects). Time
   * during which this process's own event loop was blocked is not counted against Redis (up
   * to three such stalls per check).
   * @default 50
   */
  commandTimeoutMs?: number
  /**
   * Checks started before the store first connects wait for the connection at most this
   * long, in ms, and then get their own `commandTimeoutMs`; an error while connecting
   * (refused, WRONGPASS) decides them at once. Only at start: later, a lost connection fails
   * checks at once.
   * @default 1000
   */
  connectWaitMs?: number
  /**
   * Consecutive failures (timeouts, refused or reset connections) that open the circuit
   * breaker; while open no check is sent to Redis and a probe is sent with backoff instead.
   * @default 3
   */
  failureThreshold?: number
  /**
   * Probe backoff while the breaker is open: the first probe after `min` ms, doubling up
   * to `max` ms. `max` bounds how long after Redis answers again checks stay degraded.
   * @default { minMs: 50, maxMs: 1000 }
   */
  probeBackoff?: { minMs?: number; maxMs?: number }
  /**
   * How often this instance announces itself to Redis, in ms. An instance not heard of for
   * three intervals no longer counts for the fallback's division of limits. While checks flow
   * the count is refreshed at least every tenth of this, so newcomers are counted quickly.
   * @default 1000
   */
  heartbeatMs?: number
  /**
   * Local denial cache: a key Redis said is over its limit until a time is answered in memory
   * until then, without a round trip. `false` switches it off.
   * @default { maxKeys: 10_000 }
   */
  denialCache?: false | { maxKeys?: number }
  /**
   * Checks started in the same tick share one script call (single Redis only), at most
   * `maxChecks` per call. `false` sends one call per check.
   * @default { maxChecks: 64 }
   */
  batch?: false | { maxChecks?: number }
  /**
   * Key namespace; plain characters only.
   * @default 'diana'
   */
  keyPrefix?: string
  /**
   * Most keys (rule × subject) the local fallback keeps.
   * @default 100_000
   */
  fallbackMaxKeys?: number
  /**
   * Where the store reports going degraded and recovering (once per transition).
   * `false` is silent; the limiter's `degraded` and `recovered` events fire either way.
   * @default console
   */
  logger?: Logger | false
}

export const DEFAULT_REDIS_STORE_OPTIONS = {
  type: 'redis',
  url: 'redis://127.0.0.1:6379',
  onFailure: 'fallback',
  commandTimeoutMs: 50,
  connectWaitMs: 1000,
  failureThreshold: 3,
  probeBackoff: { minMs: 50, maxMs: 1000 },
  heartbeatMs: 1000,
  denialCache: { maxKeys: 10_000 },
  batch: { maxChecks: 64 },
  keyPrefix: 'diana',
  fallbackMaxKeys: 100_000,
} as const satisfies RedisStoreOptions

/** The options with every default applied, checked. */
export interface ResolvedRedisStoreOptions {
  onFailure: FailurePolicy
  commandTimeoutMs: number
  connectWaitMs: number
  failureThreshold: number
  probeMinMs: number
  probeMaxMs: number
  heartbeatMs: number
  denialCacheMaxKeys: number
  batchMaxChecks: number
  keyPrefix: string
  fallbackMaxKeys: number
  logger: Logger | undefined
}

const OPTION_NAMES = [
  'type',
  'url',
  'client',
  'cluster',
  'onFailure',
  'commandTimeoutMs',
  'connectWaitMs',
  'failureThreshold',
  'probeBackoff',
  'heartbeatMs',
  'denialCache',
  'batch',
  'keyPrefix',
  'fallbackMaxKeys',
  'logger',
]
const POLICIES: readonly FailurePolicy[] = ['fallback', 'open', 'closed']

/** Applies defaults and checks every option; a bad one is a TypeError naming it. */
export function resolveRedisStoreOptions(options: RedisStoreOptions): ResolvedRedisStoreOptions {
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new TypeError(`store: unknown option "${key}"${hint(key, OPTION_NAMES)}`)
    }
  }
  const d = DEFAULT_REDIS_STORE_OPTIONS
  const onFailure = options.onFailure ?? d.onFailure
  if (!POLICIES.includes(onFailure)) {
    throw new TypeError(
      `store.onFailure must be one of ${POLICIES.join(', ')}${hint(String(onFailure), POLICIES)} (got ${JSON.stringify(onFailure)})`,
    )
  }
  if (options.url !== undefined && typeof options.url !== 'string') {
    throw new TypeError('store.url must be a string such as redis://127.0.0.1:6379')
  }
  if (options.client !== undefined && typeof (options.client as Redis).evalsha !== 'function') {
    throw new TypeError('store.client must be an ioredis Redis or Cluster instance')
  }
  if (options.cluster !== undefined && !Array.isArray(options.cluster?.nodes)) {
    throw new TypeError('store.cluster must be { nodes: [...] }, e.g. { nodes: ["redis://10.0.0.1:7000"] }')
  }
  const keyPrefix = options.keyPrefix ?? d.keyPrefix
  if (typeof keyPrefix !== 'string' || !KEY_PREFIX_PATTERN.test(keyPrefix)) {
    throw new TypeError(
      `store.keyPrefix must be 1-64 letters, digits, "_", ".", ":" or "-" (got ${JSON.stringify(keyPrefix)})`,
    )
  }
  const logger = options.logger === false ? undefined : (options.logger ?? console)
  if (logger !== undefined && typeof logger.warn !== 'function') {
    throw new TypeError('store.logger must have a warn(message) method, or be false')
  }
  const denialCache = options.denialCache ?? d.denialCache
  const batch = options.batch ?? d.batch
  return {
    onFailure,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs ?? d.commandTimeoutMs),
    connectWaitMs: positive('connectWaitMs', options.connectWaitMs ?? d.connectWaitMs),
    failureThreshold: whole('failureThreshold', options.failureThreshold ?? d.failureThreshold),
    probeMinMs: positive('probeBackoff.minMs', options.probeBackoff?.minMs ?? d.probeBackoff.minMs),
    probeMaxMs: positive('probeBackoff.maxMs', options.probeBackoff?.maxMs ?? d.probeBackoff.maxMs),
    heartbeatMs: positive('heartbeatMs', options.heartbeatMs ?? d.heartbeatMs),
    denialCacheMaxKeys:
      denialCache === false ? 0 : whole('denialCache.maxKeys', denialCache.maxKeys ?? d.denialCache.maxKeys),
    batchMaxChecks: batch === false ? 1 : whole('batch.maxChecks', batch.maxChecks ?? d.batch.maxChecks),
    keyPrefix,
    fallbackMaxKeys: whole('fallbackMaxKeys', options.fallbackMaxKeys ?? d.fallbackMaxKeys),
    logger,
  }
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new TypeError(`store.${name} must be a number of milliseconds above 0 (got ${String(value)})`)
  }
  return value
}

function whole(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`store.${name} must be a whole number, at least 1 (got ${String(value)})`)
  }
  return value
}
