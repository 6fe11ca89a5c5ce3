import type { Framework } from './options'

/**
 * The contenders of an HTTP benchmark, each a server process of its own: the bare app (the
 * baseline the others are measured against), Diana in front of it, or the framework's usual
 * limiter. They are driven by a load generator, not check by check, so they are named here
 * rather than built as a `Contender`.
 */
export type HttpVariant = 'none' | 'diana' | 'peer'

/** The framework's usual limiter, compared with Diana under `--compare`. */
export const HTTP_PEERS: Record<Framework, string> = {
  express: 'express-rate-limit',
  fastify: '@fastify/rate-limit',
  koa: 'koa-ratelimit',
}

/** The name a variant is reported under: `none`, `diana`, or the peer package's name. */
export function httpContenderName(framework: Framework, variant: HttpVariant): string {
  return variant === 'peer' ? HTTP_PEERS[framework] : variant
}
