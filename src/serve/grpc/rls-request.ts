import { clientKey } from '../../../adapters/core/client-ip'
import {
  canonicalResource,
  routing,
  targetPath,
  withoutDotSegments,
} from '../../../adapters/core/resource-path'
import type { Subject } from '../../types'

/**
 * A `resource` entry is Envoy's `:path`: the raw request target, query included. Read as the
 * adapters and `/nginx/auth` read a path (query dropped; escapes, case, duplicate and trailing
 * slashes folded), or `/orders?1` would match no `match.path: /orders` rule and mint a fresh
 * per-resource bucket per query string. Over-folding is the safe side.
 */
const PATH_ROUTING = routing(false, true, true)

/**
 * Limits on what one `ShouldRateLimit` call may carry. Envoy sends a handful of descriptors of
 * a few short entries each; anything far beyond that is a broken or hostile client, refused
 * before it costs a limiter check or memory for a key.
 */
export const RLS_BOUNDS = {
  maxDescriptors: 32,
  maxEntriesPerDescriptor: 16,
  maxEntries: 64,
  maxKeyLength: 128,
  /**
   * Header values (an account id, a token's subject) can be long, but not unbounded; a longer
   * one is denied (see {@link RlsHostileValue}).
   */
  maxValueLength: 1024,
  maxDomainLength: 255,
  /** `hits_addend` is a uint32 on the request; a descriptor's (uint64) may not exceed it. */
  maxCost: 0xffff_ffff,
} as const

/** A request `ShouldRateLimit` refuses: answered with INVALID_ARGUMENT and `message`. */
export class RlsRequestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RlsRequestError'
  }
}

/**
 * A request whose entry values (what the client sent: header contents, its address) cannot be
 * one subject: answered OVER_LIMIT, not with an error. Envoy lets a request through when the
 * call fails (`failure_mode_deny` is false by default), so an error here would let any client
 * walk around its limits by sending an over-long or contradictory header.
 */
export class RlsHostileValue extends RlsRequestError {
  constructor(
    message: string,
    /** How many descriptors the request had: each gets a status. */
    readonly descriptorCount: number,
  ) {
    super(message)
    this.name = 'RlsHostileValue'
  }
}

/**
 * A `RateLimitRequest` as protobufjs decodes it (field names as in the proto, absent fields as
 * their defaults; a descriptor's uint64 `hits_addend.value` may be a Long), or any plain object
 * of that shape: every field is checked, none is trusted.
 */
export interface RateLimitRequest {
  domain?: unknown
  descriptors?: unknown
  hits_addend?: unknown
}

/** One call, read: the subject checked once for every descriptor, and at what cost. */
export interface RlsCheck {
  subject: Subject
  cost: number
  /** Per descriptor, the subject fields its entries set (to report the binding rule on it). */
  fields: string[][]
}

/**
 * Maps every descriptor's entries to ONE subject through `mapping` (entry key → subject field):
 * Diana checks a request once, all-or-nothing, rather than once per descriptor. Keys the mapping
 * does not name are ignored (Envoy adds entries such as `generic_key` for other services). Two
 * entries setting one field to different values cannot be one subject, so they are denied.
 *
 * Values are the client's (its headers, its address), so nothing about a value is an error:
 * Envoy lets a request through a failed call by default, and one header would then lift every
 * limit. An empty value (Envoy's `request_headers` action passes on a header that is present
 * but empty) leaves its field absent, as `/nginx/auth` reads an empty header; an `ip` is keyed
 * as the adapters key it ({@link clientKey}: IPv6 by its /56, `::ffff:a.b.c.d` as IPv4).
 */
export function readRlsRequest(
  request: RateLimitRequest,
  mapping: ReadonlyMap<string, string>,
  domains: ReadonlySet<string> | undefined,
): RlsCheck {
  const domain = request.domain
  if (typeof domain !== 'string' || domain.length === 0) throw new RlsRequestError('domain is required')
  if (domain.length > RLS_BOUNDS.maxDomainLength) {
    throw new RlsRequestError(`domain is longer than ${RLS_BOUNDS.maxDomainLength} characters`)
  }
  if (domains !== undefined && !domains.has(domain)) {
    throw new RlsRequestError(`unknown domain ${JSON.stringify(domain)}`)
  }
  const descriptors = request.descriptors
  if (!Array.isArray(descriptors) || descriptors.length === 0) {
    throw new RlsRequestError('at least one descriptor is required')
  }
  if (descriptors.length > RLS_BOUNDS.maxDescriptors) {
    throw new RlsRequestError(`more than ${RLS_BOUNDS.maxDescriptors} descriptors`)
  }
  let cost = costOf(request.hits_addend, descriptors.length)
  let costFromDescriptor: number | undefined
  // A null prototype: entry values land on it, and no key may reach Object.prototype.
  const subject = Object.create(null) as Record<string, string>
  const fields: string[][] = []
  let entryCount = 0
  for (let d = 0; d < descriptors.length; d++) {
    const descriptor = descriptors[d] as { entries?: unknown; hits_addend?: { value?: unknown } | null }
    const entries = descriptor?.entries
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new RlsRequestError(`descriptor ${d} has no entries`)
    }
    if (entries.length > RLS_BOUNDS.maxEntriesPerDescriptor) {
      throw new RlsRequestError(`descriptor ${d} has more than ${RLS_BOUNDS.maxEntriesPerDescriptor} entries`)
    }
    entryCount += entries.length
    if (entryCount > RLS_BOUNDS.maxEntries) {
      throw new RlsRequestError(`more than ${RLS_BOUNDS.maxEntries} entries in all`)
    }
    const own = descriptor.hits_addend?.value
    if (own !== undefined && own !== null) {
      // Newer Envoy sends a cost per descriptor; one check has one cost, so they must agree.
      const value = costOf(own, descriptors.length)
      if (costFromDescriptor !== undefined && value !== costFromDescriptor) {
        throw new RlsHostileValue(
          'descriptors carry different hits_addend; Diana checks a request once, at one cost',
          descriptors.length,
        )
      }
      costFromDescriptor = value
    }
    const set: string[] = []
    for (const entry of entries as Array<{ key?: unknown; value?: unknown } | null>) {
      const key = entry?.key
      const value = entry?.value
      if (typeof key !== 'string' || key.length === 0) {
        throw new RlsRequestError(`descriptor ${d}: every entry needs a key`)
      }
      if (typeof value !== 'string') throw new RlsRequestError(`descriptor ${d}: ${key} has no value`)
      if (key.length > RLS_BOUNDS.maxKeyLength) {
        throw new RlsRequestError(`descriptor ${d}: an entry key is longer than ${RLS_BOUNDS.maxKeyLength}`)
      }
      if (value.length > RLS_BOUNDS.maxValueLength) {
        throw new RlsHostileValue(
          `descriptor ${d}: the value of ${key} is longer than ${RLS_BOUNDS.maxValueLength}`,
          descriptors.length,
        )
      }
      const field = mapping.get(key)
      if (field === undefined || value.length === 0) continue
      const read =
        field === 'resource'
          ? canonicalResource(
              withoutDotSegments(canonicalResource(targetPath(value), PATH_ROUTING)),
              PATH_ROUTING,
            )
          : field === 'ip'
            ? (clientKey(value) as string)
            : value
      const known = subject[field]
      if (known !== undefined && known !== read) {
        throw new RlsHostileValue(
          `entries give ${field} two values; one request is one subject`,
          descriptors.length,
        )
      }
      subject[field] = read
      set.push(field)
    }
    fields.push(set)
  }
  if (costFromDescriptor !== undefined) cost = costFromDescriptor
  return { subject: subject as Subject, cost, fields }
}

/**
 * `hits_addend`: 0 or absent means 1 (as Envoy documents). One beyond {@link RLS_BOUNDS}.maxCost
 * is denied rather than refused: newer Envoy can take a descriptor's from the request.
 */
function costOf(raw: unknown, descriptorCount: number): number {
  const value = typeof raw === 'object' && raw !== null ? fromLong(raw) : raw
  if (value === undefined || value === null || value === 0) return 1
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RlsRequestError('hits_addend must be a whole number')
  }
  if (value > RLS_BOUNDS.maxCost) {
    throw new RlsHostileValue(`hits_addend is larger than ${RLS_BOUNDS.maxCost}`, descriptorCount)
  }
  return value
}

/**
 * A 64-bit integer as protobufjs decodes it (a Long of `low` and `high` 32-bit halves) as a
 * number; one above 2^53 becomes an inexact number, which {@link costOf} refuses anyway.
 */
function fromLong(value: object): unknown {
  const { low, high } = value as { low?: unknown; high?: unknown }
  if (typeof low !== 'number' || typeof high !== 'number') return value
  return (high >>> 0) * 0x1_0000_0000 + (low >>> 0)
}
