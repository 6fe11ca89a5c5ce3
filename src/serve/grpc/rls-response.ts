import {
  type HeaderStyle,
  type PolicyCache,
  wholeSeconds,
  writeRateLimitHeaders,
} from '../../../adapters/core/headers'
import type { Decision } from '../../decision'

/**
 * `RateLimitResponse.Code` and `RateLimitResponse.RateLimit.Unit` as the proto numbers them:
 * protobufjs encodes a plain object's enums from their numbers.
 */
export const RLS_CODE = { OK: 1, OVER_LIMIT: 2 } as const
type Code = (typeof RLS_CODE)[keyof typeof RLS_CODE]
const UNIT_UNKNOWN = 0
/** The windows Envoy can express exactly: SECOND, MINUTE, HOUR, DAY. */
const UNITS: ReadonlyMap<number, number> = new Map([
  [1000, 1],
  [60_000, 2],
  [3_600_000, 3],
  [86_400_000, 4],
])

const UINT32_MAX = 0xffff_ffff

interface HeaderValue {
  key: string
  value: string
}

interface DescriptorStatus {
  code: Code
  current_limit?: { name: string; requests_per_unit: number; unit: number }
  limit_remaining?: number
  duration_until_reset?: { seconds: number; nanos: number }
}

/** A `RateLimitResponse` as protobufjs encodes it: field names as in the proto, enums as numbers. */
export interface RateLimitResponse {
  overall_code: Code
  statuses: DescriptorStatus[]
  response_headers_to_add: HeaderValue[]
}

/** What {@link rlsResponse} needs besides the decision. */
export interface ResponseContext {
  /** The binding rule's window (an override's own when it has one), from `limiter.windowOf`. */
  windowMs: number | undefined
  /** Index of the descriptor the binding rule's decision is reported on. */
  binding: number
  descriptorCount: number
  headers: HeaderStyle
  policies: PolicyCache
}

/**
 * One decision as Envoy reads it. Every descriptor gets a status (Envoy matches them by
 * position); the one holding the binding rule's dimensions carries the decision, the others
 * are OK because Diana decided the request as a whole. The headers are the adapters' own
 * (`writeRateLimitHeaders`), plus `Retry-After` on a denial, as the adapters send it.
 */
export function rlsResponse(decision: Decision, context: ResponseContext): RateLimitResponse {
  const code = decision.allowed ? RLS_CODE.OK : RLS_CODE.OVER_LIMIT
  const statuses: DescriptorStatus[] = []
  for (let i = 0; i < context.descriptorCount; i++) {
    statuses.push(i === context.binding ? bindingStatus(decision, code, context.windowMs) : OK_STATUS)
  }
  const headers: HeaderValue[] = []
  if (decision.rule !== undefined) {
    writeRateLimitHeaders(decision, context.windowMs, context.headers, headers, addHeader, context.policies)
  }
  if (!decision.allowed) addHeader(headers, 'Retry-After', String(wholeSeconds(decision.retryAfterMs)))
  return { overall_code: code, statuses, response_headers_to_add: headers }
}

/** The status of every descriptor but the binding one; shared, as encoding only reads it. */
const OK_STATUS: DescriptorStatus = Object.freeze({ code: RLS_CODE.OK })

function addHeader(target: HeaderValue[], key: string, value: string): void {
  target.push({ key, value })
}

function bindingStatus(decision: Decision, code: Code, windowMs: number | undefined): DescriptorStatus {
  if (decision.rule === undefined) return { code }
  const resetMs = Math.max(0, decision.resetMs)
  return {
    code,
    current_limit: {
      name: decision.rule,
      requests_per_unit: uint32(decision.limit),
      // A window Envoy has no unit for (10 s, 90 s) is reported as UNKNOWN with the rule's own
      // limit, rather than as a rate per second or minute the rule does not enforce; the exact
      // window is in the RateLimit-Policy header (w=).
      unit: (windowMs === undefined ? undefined : UNITS.get(windowMs)) ?? UNIT_UNKNOWN,
    },
    limit_remaining: uint32(decision.remaining),
    duration_until_reset: {
      seconds: Math.floor(resetMs / 1000),
      nanos: Math.min(999_999_999, Math.floor((resetMs % 1000) * 1_000_000)),
    },
  }
}

/** Limits and remainders as Envoy's uint32: whole, never negative, capped. */
function uint32(value: number): number {
  if (!(value > 0)) return 0
  return value >= UINT32_MAX ? UINT32_MAX : Math.floor(value)
}
