import { PolicyCache } from '../../../adapters/core/headers'
import type { HeaderStyle } from '../../config/response-schema'
import type { Decision } from '../../decision'
import type { Limiter } from '../../limiter'
import { type Grpc, loadGrpc, rateLimitService } from './load-grpc'
import {
  type RateLimitRequest,
  type RlsCheck,
  RlsHostileValue,
  RlsRequestError,
  readRlsRequest,
} from './rls-request'
import { type RateLimitResponse, rlsResponse } from './rls-response'

export interface RlsServerOptions {
  /** `HOST:PORT` to listen on (`[::1]:PORT` for IPv6); port 0 picks a free port. */
  address: string
  limiter: Limiter
  /** Descriptor entry key → subject field (`ip`, `account`, `device`, `resource`, a registered dimension). */
  descriptors: Record<string, string>
  /** The domains answered; a call for another gets INVALID_ARGUMENT. Default: any domain. */
  domains?: string[]
}

export interface RlsServer {
  /** The address listened on, with the real port. */
  address: string
  /** Stops taking calls, answers those in flight (for at most {@link CLOSE_GRACE_MS}), then resolves. */
  close(): Promise<void>
}

/** Far more than any Envoy request within {@link RLS_BOUNDS}; a larger one is refused unread. */
const MAX_MESSAGE_BYTES = 64 * 1024
/** Calls in flight per connection: Envoy multiplexes, but a client must not pile up unbounded work. */
const MAX_CONCURRENT_STREAMS = 1024
const CLOSE_GRACE_MS = 5000

/**
 * Serves Envoy's `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` over gRPC from a
 * Diana limiter: one `limiter.check` per call, for every descriptor at once. Loads
 * @grpc/grpc-js and @grpc/proto-loader (optional peers) here and nowhere else.
 */
export async function startRlsServer(options: RlsServerOptions): Promise<RlsServer> {
  const mapping = mappingOf(options.descriptors)
  const domains = options.domains === undefined ? undefined : new Set(options.domains)
  const { grpc, loader } = loadGrpc()
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
  })
  const limiter = options.limiter
  const policies = new PolicyCache()
  server.addService(rateLimitService(loader), {
    ShouldRateLimit: (
      call: { request: RateLimitRequest },
      callback: (error: { code: number; details: string } | null, response?: RateLimitResponse) => void,
    ) => {
      let check: RlsCheck
      try {
        check = readRlsRequest(call.request, mapping, domains)
      } catch (error) {
        if (error instanceof RlsHostileValue) callback(null, deniedAll(error.descriptorCount))
        else callback(failure(grpc, error))
        return
      }
      limiter.check(check.subject, { cost: check.cost }).then(
        (decision) => {
          // A gateway cannot tell Diana when the request ends, so permits of concurrency rules
          // are handed back at once rather than held until they are reclaimed.
          decision.release?.()
          let response: RateLimitResponse
          try {
            response = answer(limiter, decision, check, headerStyle(limiter), policies)
          } catch (error) {
            callback(failure(grpc, error))
            return
          }
          callback(null, response)
        },
        // The limiter refuses a subject whose values it cannot take (a TypeError naming the
        // field): what a client sent, so it is denied rather than failed (see RlsHostileValue).
        (error: unknown) =>
          error instanceof TypeError
            ? callback(null, deniedAll(check.fields.length))
            : callback(failure(grpc, error)),
      )
    },
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    )
  })
  const host = options.address.slice(0, options.address.lastIndexOf(':'))
  return { address: `${host}:${port}`, close: () => shutdown(server) }
}

function answer(
  limiter: Limiter,
  decision: Decision,
  check: RlsCheck,
  headers: HeaderStyle,
  policies: PolicyCache,
): RateLimitResponse {
  const rule = decision.rule
  return rlsResponse(decision, {
    windowMs: rule === undefined ? undefined : limiter.windowOf(rule, decision),
    binding: rule === undefined ? 0 : bindingDescriptor(limiter, rule, check.fields),
    descriptorCount: check.fields.length,
    headers,
    policies,
  })
}

/**
 * The descriptor that holds most of the binding rule's dimensions (the first on a tie). A
 * rule no descriptor speaks for (`global`) is reported on the first descriptor.
 */
function bindingDescriptor(limiter: Limiter, rule: string, fields: readonly string[][]): number {
  const written = limiter.rules.find((candidate) => candidate.name === rule)
  if (written === undefined || fields.length < 2) return 0
  const dimensions = typeof written.dimension === 'string' ? [written.dimension] : written.dimension
  let best = 0
  let bestCount = 0
  for (let i = 0; i < fields.length; i++) {
    const set = fields[i] as string[]
    let count = 0
    for (const dimension of dimensions) if (set.includes(dimension)) count++
    if (count > bestCount) {
      best = i
      bestCount = count
    }
  }
  return best
}

/** The configuration file's `response.headers`, as the adapters read it; IETF draft headers otherwise. */
function headerStyle(limiter: Limiter): HeaderStyle {
  return limiter.config?.response?.headers ?? 'draft'
}

/** Entry keys are looked up in a Map: a key such as `__proto__` or `constructor` finds nothing. */
function mappingOf(descriptors: Record<string, string>): Map<string, string> {
  if (descriptors === null || typeof descriptors !== 'object') {
    throw new TypeError('startRlsServer: descriptors must map descriptor keys to subject fields')
  }
  const mapping = new Map<string, string>()
  for (const [key, field] of Object.entries(descriptors)) {
    if (typeof field !== 'string' || field.length === 0) {
      throw new TypeError(`startRlsServer: descriptors.${key} must name a subject field`)
    }
    mapping.set(key, field)
  }
  return mapping
}

/** OVER_LIMIT on every descriptor, for a request no limit can be read for (see RlsHostileValue). */
function deniedAll(descriptorCount: number): RateLimitResponse {
  return {
    overall_code: 'OVER_LIMIT',
    statuses: Array.from({ length: descriptorCount }, () => ({ code: 'OVER_LIMIT' as const })),
    response_headers_to_add: [],
  }
}

function failure(grpc: Grpc, error: unknown): { code: number; details: string } {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof RlsRequestError || error instanceof TypeError) {
    return { code: grpc.status.INVALID_ARGUMENT, details: message }
  }
  // A closed limiter: the service is shutting down, and Envoy should try another instance.
  if (message === 'limiter is closed') return { code: grpc.status.UNAVAILABLE, details: message }
  return { code: grpc.status.INTERNAL, details: message }
}

function shutdown(server: import('@grpc/grpc-js').Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown()
      resolve()
    }, CLOSE_GRACE_MS)
    force.unref()
    server.tryShutdown(() => {
      clearTimeout(force)
      resolve()
    })
  })
}
