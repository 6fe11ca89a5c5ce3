import { requirePeer } from '../optional-peer'

type PromClient = typeof import('prom-client')

/**
 * prom-client is an optional peer dependency: it is resolved on the first `dianaMetrics` call,
 * never by the core or the adapters, so apps without metrics neither install nor load it.
 */
export function loadPromClient(): PromClient {
  return requirePeer<PromClient>('prom-client', 'diana-limiter/metrics')
}
