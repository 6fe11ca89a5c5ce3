import { HttpException } from '@nestjs/common'
import type { Decision } from '../../src/decision'

/** The problem+json body of a denial, as the other adapters send it (RFC 9457). */
export interface RateLimitProblem {
  type: string
  title: string
  status: number
  detail: string
  rule?: string
  limit?: number
  retryAfter?: number
}

/**
 * Thrown by `DianaGuard` for a request a rule denied (status 429, or `response.status`; 503 when
 * a concurrency rule is full, by `response.overloadStatus`). Nest's exception filters see it as
 * any `HttpException`: `getResponse()` is the problem+json body, `getStatus()` the status, and
 * `decision` the limiter's decision. The guard has already set `Retry-After` and the rate-limit
 * headers on the response, and the response sends this body as `application/problem+json`, so
 * Nest's default filter sends what the Express, Fastify and Koa adapters send; a filter of yours
 * that sends its own body keeps its own content type.
 */
export class RateLimitExceededException extends HttpException {
  readonly decision: Decision | undefined

  constructor(problem: RateLimitProblem, status = problem.status, decision?: Decision) {
    super(problem, status, { description: problem.title })
    this.decision = decision
  }

  override getResponse(): RateLimitProblem {
    return super.getResponse() as RateLimitProblem
  }
}

/**
 * Thrown by `DianaGuard` when the shared store is down and set to refuse requests meanwhile
 * (`store.onFailure: 'closed'`): status 503, a problem+json body of type
 * `tag:diana-limiter,2025:store-unavailable`.
 */
export class RateLimiterUnavailableException extends HttpException {
  constructor(problem: RateLimitProblem) {
    super(problem, problem.status, { description: problem.title })
  }

  override getResponse(): RateLimitProblem {
    return super.getResponse() as RateLimitProblem
  }
}
