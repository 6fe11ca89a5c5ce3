/**
 * diana-limiter/nestjs: Diana for NestJS 11 and 12, on @nestjs/platform-express and
 * @nestjs/platform-fastify. @nestjs/common and @nestjs/core are optional peers, loaded only by
 * this entry. See docs/nestjs.md.
 */
export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'
export type { DianaNestOptions } from './nestjs/core'
export { RateLimit, type RateLimitMetadata, type RateLimitOptions, SkipRateLimit } from './nestjs/decorators'
export {
  RateLimitExceededException,
  RateLimiterUnavailableException,
  type RateLimitProblem,
} from './nestjs/exceptions'
export { DianaGuard } from './nestjs/guard'
export { DianaModule, type DianaModuleAsyncOptions, type DianaModuleSettings } from './nestjs/module'
export { DIANA_LIMITER, DIANA_OPTIONS, RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './nestjs/tokens'
