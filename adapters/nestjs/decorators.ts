import { SetMetadata } from '@nestjs/common'
import { compileOrThrow } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './tokens'

/** Options of {@link RateLimit}. */
export interface RateLimitOptions {
  /**
   * Whether the module's rules apply here too. `true`: the route is limited by the module's
   * rules and these, in one all-or-nothing check, a rule here taking the place of the module's
   * rule of the same name. `false`: by these rules only (as a route limiter of its own in
   * Express, Fastify and Koa).
   * @default true
   */
  inherit?: boolean
}

/** What `@RateLimit` stores on a handler or controller. */
export interface RateLimitMetadata {
  rules: readonly Rule[]
  inherit: boolean
}

/**
 * Rules of a route (on a handler) or of every route of a controller (on the class; a handler's
 * own `@RateLimit` replaces the class's). By default merged with the module's rules: a rule here
 * with the name of a module rule replaces that rule for these routes, other rules are added, and
 * all are decided in one check, so a denial by any takes nothing from the others. Counters of
 * the module's rules are shared with every other route; a rule here counts this route's requests
 * (every route with the same rule definition shares its counters).
 *
 * The rules are validated here, when the class is defined: a bad rule fails at startup.
 */
export function RateLimit(
  rules: readonly Rule[],
  options: RateLimitOptions = {},
): MethodDecorator & ClassDecorator {
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new TypeError(
      '@RateLimit: expected a non-empty list of rules, such as [{ name, dimension, algorithm, limit, window }]',
    )
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('@RateLimit: options must be an object such as { inherit: false }')
  }
  for (const key of Object.keys(options)) {
    if (key !== 'inherit') throw new TypeError(`@RateLimit: unknown option "${key}" (known: inherit)`)
  }
  if (options.inherit !== undefined && typeof options.inherit !== 'boolean') {
    throw new TypeError('@RateLimit: inherit must be true or false')
  }
  try {
    compileOrThrow(rules)
  } catch (error) {
    throw new TypeError(`@RateLimit: ${(error as Error).message}`)
  }
  // Copied: a list the app changes later must not change what this route was declared with.
  const metadata: RateLimitMetadata = {
    rules: rules.map((rule) => ({ ...rule })),
    inherit: options.inherit ?? true,
  }
  return SetMetadata(RATE_LIMIT_METADATA, metadata)
}

/**
 * Exempts a handler, or every handler of a controller, from `DianaGuard`: no check, no headers,
 * nothing on the request. `@SkipRateLimit(false)` on a handler limits it again inside an exempt
 * controller.
 */
export function SkipRateLimit(skip = true): MethodDecorator & ClassDecorator {
  if (typeof skip !== 'boolean') throw new TypeError('@SkipRateLimit: expected true or false')
  return SetMetadata(SKIP_RATE_LIMIT_METADATA, skip)
}
