import { PolicyCache } from '../../../adapters/core/headers'
import type { HeaderStyle } from '../../config/response-schema'
import type { Decision } from '../../decision'
import type { Limiter } from '../../limiter'
import { GrpcStatus } from './grpc-wire'
import { loadRlsMessages, SHOULD_RATE_LIMIT_PATH } from './load-proto'
import {
  type RateLimitRequest,
  type RlsCheck,
  RlsHostileValue,
  RlsRequestError,
  readRlsRequest,
} from './rls-request'
import { type RateLimitResponse, RLS_CODE, rlsResponse } from './rls-response'
import { startUnaryServer, type UnaryCall, type UnaryMethod } from './unary-server'

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
  /** Stops taking calls, answers those in flight (for at most 5 s), then resolves. */
  close(): Promise<void>
}

/**
 * Serves Envoy's `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` over gRPC from a
 * Diana limiter: one `limiter.check` per call, for every descriptor at once. The gRPC framing is
 * Diana's own (`unary-server.ts`, which says why); the messages are decoded and encoded with
 * protobufjs (an optional peer, loaded here and nowhere else) from the shipped protos.
 */
export async function startRlsServer(options: RlsServerOptions): Promise<RlsServer> {
  const mapping = mappingOf(options.descriptors)
  const domains = options.domains === undefined ? undefined : new Set(options.domains)
  const { RateLimitRequest, RateLimitResponse } = loadRlsMessages()
  const limiter = options.limiter
  const policies = new PolicyCache()
  const reply = (call: UnaryCall, response: RateLimitResponse) =>
    call.ok(RateLimitResponse.encode(response).finish())
  const shouldRateLimit: UnaryMethod = (message, call) => {
    let check: RlsCheck
    try {
      // A message that is not a RateLimitRequest throws here: INTERNAL, as gRPC servers answer
      // a request they cannot deserialize.
      const request = RateLimitRequest.decode(message) as RateLimitRequest
      check = readRlsRequest(request, mapping, domains)
    } catch (error) {
      if (error instanceof RlsHostileValue) reply(call, deniedAll(error.descriptorCount))
      else fail(call, error)
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
          fail(call, error)
          return
        }
        reply(call, response)
      },
      // The limiter refuses a subject whose values it cannot take (a TypeError naming the
      // field): what a client sent, so it is denied rather than failed (see RlsHostileValue).
      (error: unknown) =>
        error instanceof TypeError ? reply(call, deniedAll(check.fields.length)) : fail(call, error),
    )
  }
  const server = await startUnaryServer({
    address: options.address,
    methods: new Map([[SHOULD_RATE_LIMIT_PATH, shouldRateLimit]]),
  })
  return {
    address: server.address,
    close: async () => {
      await server.close()
    },
  }
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
    binding:
      rule === undefined || check.fields.length < 2
        ? 0
        : bindingDescriptor(limiter.dimensionsOf(rule) ?? [], check.fields),
    descriptorCount: check.fields.length,
    headers,
    policies,
  })
}

/**
 * The descriptor that holds most of the binding rule's dimensions (the first on a tie). A
 * rule no descriptor speaks for (`global`) is reported on the first descriptor.
 */
function bindingDescriptor(dimensions: readonly string[], fields: readonly string[][]): number {
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
    overall_code: RLS_CODE.OVER_LIMIT,
    statuses: Array.from({ length: descriptorCount }, () => ({ code: RLS_CODE.OVER_LIMIT })),
    response_headers_to_add: [],
  }
}

function fail(call: UnaryCall, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  if (error instanceof RlsRequestError || error instanceof TypeError) {
    call.fail(GrpcStatus.INVALID_ARGUMENT, message)
  } else if (message === 'limiter is closed') {
    // The service is shutting down, and Envoy should try another instance.
    call.fail(GrpcStatus.UNAVAILABLE, message)
  } else {
    call.fail(GrpcStatus.INTERNAL, message)
  }
}
