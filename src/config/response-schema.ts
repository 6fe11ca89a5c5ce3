import { describe, literal, object, oneOf, optional, union } from '../schema/schema'

/**
 * How the HTTP adapters answer: one schema for the adapters' `response` option and the
 * `response:` section of `diana.yaml`, so both accept exactly the same values.
 */

export const RESPONSE_HEADER_STYLES = ['draft', 'legacy', 'both', 'none'] as const

/** Which rate-limit headers responses carry. */
export type HeaderStyle = (typeof RESPONSE_HEADER_STYLES)[number]

/** How denied requests are answered. */
export interface ResponseOptions {
  /**
   * Status of a denied response: 429, or 503 for services that prefer to look overloaded rather
   * than tell clients about quotas.
   * @default 429
   */
  status?: 429 | 503
  /**
   * Status of a request denied by a `concurrency` or `adaptive-concurrency` rule: the service is
   * overloaded, which is not the client's quota running out, so 503 by default.
   * @default 503
   */
  overloadStatus?: 429 | 503
  /**
   * Rate-limit headers on allowed and denied responses: draft (IETF RateLimit-Policy and
   * RateLimit), legacy (X-RateLimit-Limit/Remaining/Reset), both or none. Retry-After is always
   * sent on denied responses.
   * @default 'draft'
   */
  headers?: HeaderStyle
}

export const DEFAULT_RESPONSE_OPTIONS = {
  status: 429,
  overloadStatus: 503,
  headers: 'draft',
} as const satisfies ResponseOptions

const STATUS_ERROR = 'must be 429 or 503'

export const responseSchema = describe(
  object(
    {
      status: describe(
        optional(union([literal(429, STATUS_ERROR), literal(503, STATUS_ERROR)], STATUS_ERROR)),
        'Status of a denied response: 429, or 503 for services that prefer to look overloaded rather than tell clients about quotas. Default: 429.',
      ),
      overloadStatus: describe(
        optional(union([literal(429, STATUS_ERROR), literal(503, STATUS_ERROR)], STATUS_ERROR)),
        "Status of a request denied by a concurrency or adaptive-concurrency rule: the service is overloaded, which is not the client's quota running out, so 503 by default. Default: 503.",
      ),
      headers: describe(
        optional(oneOf(RESPONSE_HEADER_STYLES, `must be one of ${RESPONSE_HEADER_STYLES.join(', ')}`)),
        'Rate-limit headers on allowed and denied responses: draft (IETF RateLimit-Policy and RateLimit), legacy (X-RateLimit-Limit/Remaining/Reset), both or none. Retry-After is always sent on denied responses. Default: draft.',
      ),
    },
    'must be a mapping such as { status: 429, headers: draft }',
  ),
  'How the HTTP adapters answer denied requests.',
)
