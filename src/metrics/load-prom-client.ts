import { createRequire } from 'node:module'

type PromClient = typeof import('prom-client')

let loaded: PromClient | undefined

/**
 * prom-client is an optional peer dependency: it is resolved on the first `dianaMetrics` call,
 * never by the core or the adapters, so apps without metrics neither install nor load it.
 */
export function loadPromClient(): PromClient {
  if (loaded) return loaded
  try {
    loaded = createRequire(import.meta.url)('prom-client') as PromClient
  } catch (error) {
    throw new Error(
      'diana-limiter/metrics needs the prom-client package: npm install prom-client ' +
        `(${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    )
  }
  return loaded
}
