import type { Request, RequestHandler } from 'express'
import type { Limiter } from '../../../src/limiter'

/**
 * Stand-in for `diana()` from adapters/express until that adapter lands: the same subject
 * (account from `identify`, device from `x-device-id` else the IP, resource = path, method),
 * the same 429 problem+json with Retry-After and RateLimit headers.
 */
export function rateLimitGuard(options: {
  limiter: Limiter
  identify: (req: Request) => string | undefined
  skip: (req: Request) => boolean
}): RequestHandler {
  return (req, res, next) => {
    if (options.skip(req)) return next()
    const device = req.header('x-device-id') || req.ip || 'unknown'
    const subject = {
      account: options.identify(req),
      device,
      resource: req.originalUrl.split('?')[0],
      method: req.method,
    }
    options.limiter.check(subject).then((decision) => {
      if (decision.rule !== undefined && Number.isFinite(decision.limit)) {
        res.setHeader(
          'RateLimit',
          `"${decision.rule}";r=${decision.remaining};t=${Math.ceil(decision.resetMs / 1000)}`,
        )
      }
      if (decision.allowed) {
        if (decision.delayMs > 0) setTimeout(next, decision.delayMs)
        else next()
        return
      }
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
      res.status(429).setHeader('Retry-After', String(seconds)).type('application/problem+json')
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: 429,
          detail: `Rate limit "${decision.rule}" exceeded; retry in ${seconds} s.`,
          rule: decision.rule,
        }),
      )
    }, next)
  }
}
