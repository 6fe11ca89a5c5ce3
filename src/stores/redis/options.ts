import type { Cluster, ClusterNode, ClusterOptions, Redis } from 'ioredis'
import type { Logger } from '../../logger'
import { readOptions } from '../../schema/read-options'
import {
  array,
  describe,
  literal,
  nonEmptyString,
  number,
  object,
  oneOf,
  optional,
  positiveInteger,
  record,
  refine,
  string,
  titled,
  union,
  unknownValue,
} from '../../schema/schema'
import { KEY_PREFIX_PATTERN } from './keys'

export const FAILURE_POLICIES = ['fallback', 'open', 'closed'] as const

/** What the store does while Redis cannot be reached. */
export type FailurePolicy = (typeof FAILURE_POLICIES)[number]

/** @deprecated The same type as {@link Logger}; use that. */
export type StoreLogger = Logger

export interface RedisStoreOptions {
  /** Counters shared by every instance through Redis. */
  type: 'redis'
  /**
   * Connection URL for a single Redis, e.g. `redis://127.0.0.1:6379/0`, or a `rediss://` URL.
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
   * Redis Cluster seed nodes (`redis://10.0.0.1:7000`, `{ host, port }`), with optional
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
   * Probe backoff while the breaker is open: the first probe after `minMs`, doubling up to
   * `maxMs`. `maxMs` bounds how long after Redis answers again checks stay degraded.
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
   * A check with no call in flight is sent at once; checks started while one is in flight
   * share one script call, sent on the next tick (single Redis only), at most `maxChecks` per
   * call. `false` sends one call per check.
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
   * Most keys (rule × subject) of leased rules this instance holds slices for (see the rule
   * field `lease`); the least recently used hands its slice back to make room.
   * @default 10_000
   */
  leaseMaxKeys?: number
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
  leaseMaxKeys: 10_000,
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
  leaseMaxKeys: number
  logger: Logger | undefined
}

const ms = number('must be a number of milliseconds above 0', { exclusiveMinimum: 0 })
const wholeNumber = positiveInteger('must be a whole number, at least 1')

const clusterNode = union(
  [
    nonEmptyString('a node URL'),
    positiveInteger('must be a port number'),
    // Further ioredis node options pass through.
    object({ host: optional(nonEmptyString('a host name')), port: wholeNumber }, 'must be { host, port }', {
      otherFields: 'keep',
    }),
  ],
  'must be a node URL such as redis://10.0.0.1:7000 or { host, port }',
)

/**
 * The options a file can hold; {@link redisStoreOptionsSchema} adds the two that only code can
 * give (`client`, `logger`). Descriptions are the doc comments of {@link RedisStoreOptions}.
 */
const fileFields = {
  type: describe(literal('redis', 'must be redis'), 'Counters shared by every instance through Redis.'),
  url: describe(
    optional(string('must be a Redis URL such as redis://127.0.0.1:6379', { minLength: 1 })),
    'Connection URL for a single Redis, e.g. redis://127.0.0.1:6379/0, or a rediss:// URL. Ignored when client or cluster is given. Default: redis://127.0.0.1:6379.',
  ),
  cluster: describe(
    optional(
      object(
        {
          nodes: array(
            clusterNode,
            'must list at least one seed node, e.g. { nodes: ["redis://10.0.0.1:7000"] }',
            {
              minItems: 1,
              maxItems: 1000,
              tooMany: 'must list at most 1000 seed nodes',
            },
          ),
          options: optional(record('must be a mapping of ioredis Cluster options')),
        },
        'must be { nodes: [...] }, e.g. { nodes: ["redis://10.0.0.1:7000"] }',
      ),
    ),
    "Redis Cluster seed nodes (redis://10.0.0.1:7000, { host, port }), with optional ioredis Cluster options merged over Diana's defaults.",
  ),
  onFailure: describe(
    optional(oneOf(FAILURE_POLICIES, `must be one of ${FAILURE_POLICIES.join(', ')}`)),
    "While Redis cannot be reached: fallback limits locally (each rule's limit divided by the live Diana instances last seen, or its fallbackLimit), open allows everything, closed denies everything. Such decisions have degraded: true. Default: fallback.",
  ),
  commandTimeoutMs: describe(
    optional(ms),
    "The longest a check waits for Redis, in ms, before it is decided locally and counted as a failure. Covers the whole check (EVALSHA, a NOSCRIPT reload, Cluster redirects). Time during which this process's own event loop was blocked is not counted against Redis (up to three such stalls per check). Default: 50.",
  ),
  connectWaitMs: describe(
    optional(ms),
    'Checks started before the store first connects wait for the connection at most this long, in ms, and then get their own commandTimeoutMs; an error while connecting (refused, WRONGPASS) decides them at once. Only at start: later, a lost connection fails checks at once. Default: 1000.',
  ),
  failureThreshold: describe(
    optional(wholeNumber),
    'Consecutive failures (timeouts, refused or reset connections) that open the circuit breaker; while open no check is sent to Redis and a probe is sent with backoff instead. Default: 3.',
  ),
  probeBackoff: describe(
    optional(object({ minMs: optional(ms), maxMs: optional(ms) }, 'must be { minMs, maxMs }')),
    'Probe backoff while the breaker is open: the first probe after minMs, doubling up to maxMs. maxMs bounds how long after Redis answers again checks stay degraded. Default: { minMs: 50, maxMs: 1000 }.',
  ),
  heartbeatMs: describe(
    optional(ms),
    "How often this instance announces itself to Redis, in ms. An instance not heard of for three intervals no longer counts for the fallback's division of limits. While checks flow the count is refreshed at least every tenth of this, so newcomers are counted quickly. Default: 1000.",
  ),
  denialCache: describe(
    optional(
      union(
        [literal(false, 'must be false'), object({ maxKeys: optional(wholeNumber) }, 'must be { maxKeys }')],
        'must be false or { maxKeys }',
      ),
    ),
    'Local denial cache: a key Redis said is over its limit until a time is answered in memory until then, without a round trip. false switches it off. Default: { maxKeys: 10000 }.',
  ),
  batch: describe(
    optional(
      union(
        [
          literal(false, 'must be false'),
          object({ maxChecks: optional(wholeNumber) }, 'must be { maxChecks }'),
        ],
        'must be false or { maxChecks }',
      ),
    ),
    'A check with no call in flight is sent at once; checks started while one is in flight share one script call, sent on the next tick (single Redis only), at most maxChecks per call. false sends one call per check. Default: { maxChecks: 64 }.',
  ),
  keyPrefix: describe(
    optional(
      titled(
        string('must be 1-64 letters, digits, "_", ".", ":" or "-"', { pattern: KEY_PREFIX_PATTERN.source }),
        '1–64 of A-Za-z0-9_.:-',
      ),
    ),
    'Key namespace; plain characters only. Default: diana.',
  ),
  fallbackMaxKeys: describe(
    optional(wholeNumber),
    'Most keys (rule × subject) the local fallback keeps. Default: 100000.',
  ),
  leaseMaxKeys: describe(
    optional(wholeNumber),
    'Most keys (rule × subject) of leased rules this instance holds slices for (see the rule field lease); the least recently used hands its slice back to make room. Default: 10000.',
  ),
}

/** The `store:` section of `diana.yaml` when `type: redis`, and its part of `diana.schema.json`. */
export const redisStoreSchema = describe(
  object(fileFields, 'must be { type: redis, url, onFailure, ... }'),
  'Counters in Redis, shared by every instance.',
)

/** `createLimiter({ store: { type: 'redis', ... } })`: the file's options and two only code can give. */
export const redisStoreOptionsSchema = object(
  {
    ...fileFields,
    client: describe(
      optional(
        refine(
          unknownValue(),
          (client) => typeof (client as Redis | null)?.evalsha === 'function',
          'must be an ioredis Redis or Cluster instance',
        ),
      ),
      'A ready ioredis Redis or Cluster. The store does not close it; its own timeouts and offline queue stay as you set them, while every call of the store is still bounded by commandTimeoutMs.',
    ),
    logger: describe(
      optional(
        refine(
          unknownValue(),
          (logger) => logger === false || typeof (logger as Logger | null)?.warn === 'function',
          'must have a warn(message) method, or be false',
        ),
      ),
      "Where the store reports going degraded and recovering (once per transition). false is silent; the limiter's degraded and recovered events fire either way. Default: console.",
    ),
  },
  'must be { type: redis, url, onFailure, ... }',
)

/** Applies defaults and checks every option; a bad one is a TypeError naming it. */
export function resolveRedisStoreOptions(given: RedisStoreOptions): ResolvedRedisStoreOptions {
  const options = readOptions(redisStoreOptionsSchema, given, 'store') as RedisStoreOptions
  const d = DEFAULT_REDIS_STORE_OPTIONS
  const logger = options.logger === false ? undefined : (options.logger ?? console)
  const denialCache = options.denialCache ?? d.denialCache
  const batch = options.batch ?? d.batch
  return {
    onFailure: options.onFailure ?? d.onFailure,
    commandTimeoutMs: options.commandTimeoutMs ?? d.commandTimeoutMs,
    connectWaitMs: options.connectWaitMs ?? d.connectWaitMs,
    failureThreshold: options.failureThreshold ?? d.failureThreshold,
    probeMinMs: options.probeBackoff?.minMs ?? d.probeBackoff.minMs,
    probeMaxMs: options.probeBackoff?.maxMs ?? d.probeBackoff.maxMs,
    heartbeatMs: options.heartbeatMs ?? d.heartbeatMs,
    denialCacheMaxKeys: denialCache === false ? 0 : (denialCache.maxKeys ?? d.denialCache.maxKeys),
    batchMaxChecks: batch === false ? 1 : (batch.maxChecks ?? d.batch.maxChecks),
    keyPrefix: options.keyPrefix ?? d.keyPrefix,
    fallbackMaxKeys: options.fallbackMaxKeys ?? d.fallbackMaxKeys,
    leaseMaxKeys: options.leaseMaxKeys ?? d.leaseMaxKeys,
    logger,
  }
}
