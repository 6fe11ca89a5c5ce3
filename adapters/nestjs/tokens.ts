/**
 * Injection tokens and metadata keys of diana-limiter/nestjs. Strings rather than symbols: an
 * app that loads both builds of the package (ESM and CommonJS) must find one module's providers
 * and decorators with the other's tokens.
 */

/** The options given to `DianaModule.forRoot` (or made by `forRootAsync`'s factory). */
export const DIANA_OPTIONS = 'diana-limiter:options'
/** The module's limiter, for `@Inject(DIANA_LIMITER) limiter: Limiter` (metrics, reset, peek). */
export const DIANA_LIMITER = 'diana-limiter:limiter'
/** The module's shared state (limiter, gates per route), which `DianaGuard` is built with. */
export const DIANA_CORE = 'diana-limiter:core'

/** Metadata key of `@RateLimit(rules)`. */
export const RATE_LIMIT_METADATA = 'diana-limiter:rate-limit'
/** Metadata key of `@SkipRateLimit()`. */
export const SKIP_RATE_LIMIT_METADATA = 'diana-limiter:skip'
