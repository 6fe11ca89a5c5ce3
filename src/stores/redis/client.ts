import type { Cluster, Redis } from 'ioredis'
import { requirePeer } from '../../optional-peer'
import type { RedisStoreOptions } from './options'

/**
 * Diana's defaults for clients it builds itself. Checks never queue behind a dead connection
 * (no offline queue, no retries: the store's own timeout and fallback take over), while the
 * connection itself reconnects with a short capped backoff so recovery is quick.
 */
export const DEFAULT_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 1000,
  retryStrategy: (times: number) => Math.min(25 * 2 ** Math.min(times, 5), 500),
} as const

export interface BuiltClient {
  client: Redis | Cluster
  /** True when the store built the client and so must close it. */
  owned: boolean
}

export function buildClient(options: RedisStoreOptions): BuiltClient {
  if (options.client) return { client: options.client, owned: false }
  const ioredis = requirePeer<typeof import('ioredis')>('ioredis', 'The Redis store')
  if (options.cluster) {
    const client = new ioredis.Cluster(options.cluster.nodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: (times: number) => Math.min(50 * times, 500),
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      retryDelayOnTryAgain: 50,
      slotsRefreshTimeout: 1000,
      ...options.cluster.options,
      redisOptions: { ...DEFAULT_CLIENT_OPTIONS, ...options.cluster.options?.redisOptions },
    })
    return { client, owned: true }
  }
  const client = new ioredis.Redis(options.url ?? 'redis://127.0.0.1:6379', DEFAULT_CLIENT_OPTIONS)
  return { client, owned: true }
}
