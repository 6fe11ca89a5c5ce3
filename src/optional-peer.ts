import { createRequire } from 'node:module'

/**
 * The packages only some features need are optional peer dependencies, loaded by the feature
 * that needs them and never by `import 'diana-limiter'`: ioredis (the Redis store), nacos (a
 * Nacos source), prom-client (diana-limiter/metrics). Loaded synchronously with `require`, so a
 * missing one is reported where the feature is configured (`createLimiter`), not in a request.
 */
export class MissingPeerError extends Error {
  constructor(
    readonly packageName: string,
    feature: string,
    cause: unknown,
  ) {
    super(
      `${feature} needs the "${packageName}" package, which is not installed: npm install ${packageName}`,
      {
        cause,
      },
    )
    this.name = 'MissingPeerError'
  }
}

// The name is a variable on purpose: a bundler must leave the lookup to Node at run time.
const requireHere = createRequire(import.meta.url)

/** `require(name)`, with "not installed" turned into a {@link MissingPeerError} naming `feature`. */
export function requirePeer<T>(name: string, feature: string): T {
  // Node's own module cache makes every call after the first a lookup.
  try {
    return requireHere(name) as T
  } catch (error) {
    if (isNotFound(error, name)) throw new MissingPeerError(name, feature, error)
    throw error
  }
}

/** Whether `name` itself is missing, not one of its own dependencies (a broken install is a real error). */
function isNotFound(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false
  return String((error as Error).message).includes(`'${name}'`)
}
