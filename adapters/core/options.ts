import type { Priority } from '../../src/concurrency/priority'
import {
  DEFAULT_RESPONSE_OPTIONS,
  type HeaderStyle,
  type ResponseOptions,
  responseSchema,
} from '../../src/config/response-schema'
import type { Decision } from '../../src/decision'
import { type DeviceSecret, deviceKey } from '../../src/device-id'
import { hint } from '../../src/did-you-mean'
import { createLimiter, type Limiter, type LimiterOptions } from '../../src/limiter'
import type { Logger } from '../../src/logger'
import { peerHint } from '../../src/peer-options'
import { readOptions } from '../../src/schema/read-options'
import {
  boolean,
  describe,
  literal,
  number,
  object,
  optional,
  refine,
  string,
  union,
  unknownValue,
} from '../../src/schema/schema'
import { DEFAULT_IPV6_SUBNET, MAX_IPV6_SUBNET, MIN_IPV6_SUBNET } from './client-ip'
import { ROUTING_FIELDS, type RoutingOptions } from './resource-path'

export type { HeaderStyle, ResponseOptions } from '../../src/config/response-schema'
export type { Routing, RoutingOptions } from './resource-path'

/**
 * The hooks every adapter takes, named alike in Express, Fastify and Koa (after Sentinel's
 * `RequestOriginParser`, `UrlCleaner` and `BlockExceptionHandler`).
 */
export interface AdapterHooks<Req, Res> {
  // Every hook may answer at once or through a promise; whatever has a callable `then` (a
  // `Promise` or another library's thenable) is waited for, as `await` would.
  /**
   * The account the request belongs to, for `account` rules; undefined for anonymous requests.
   * Read it from something the server has verified (a session, a checked token). An unverified
   * header lets every client choose its own bucket, and so its own limit.
   * @default none: no account, so `account` rules never apply
   */
  identify?: (req: Req) => string | undefined | PromiseLike<string | undefined>
  /**
   * The device the request comes from, for `device` rules, when the app knows it better than a
   * header can say (a verified cookie, a claim of a checked token). Undefined (or a hook that
   * fails) falls back to {@link deviceHeader}, then to the client address. Its values have a
   * key space of their own: no header value can name the same bucket.
   * @default none: the header, else the address
   */
  identifyDevice?: (req: Req) => string | undefined | PromiseLike<string | undefined>
  /**
   * The request header that names the device, or `false` to read none (then `device` is the
   * client address unless {@link identifyDevice} names one). Any client can send any value
   * here, so a header alone lets a bot take a fresh bucket per request: see
   * {@link deviceSecret}.
   * @default 'x-device-id'
   */
  deviceHeader?: string | false
  /**
   * Counts a header value only when it is `ID.SIGNATURE` signed with this secret
   * (HMAC-SHA256 over ID, base64url without padding: `signDeviceId(id, secret)` from
   * `diana-limiter` makes one); the device is then ID. Anything else (unsigned, forged, longer
   * than 256 characters) falls back to the client address. At least 16 bytes.
   * @default none: any header value counts as sent
   */
  deviceSecret?: DeviceSecret
  /**
   * How many leading bits of an IPv6 client address name one client, for `ip` rules and the
   * address fallback of `device`; 32 to 128 (128: per address). IPv4 and IPv4-mapped IPv6
   * addresses are always counted per address.
   * @default 56
   */
  ipv6Subnet?: number
  /**
   * Warn (once each, through {@link logger}) when X-Forwarded-For arrives but the framework
   * does not trust proxies, and when the first 100 requests all come from one private address
   * with proxy headers: both mean every client is probably counted as the proxy.
   * @default true
   */
  proxyWarnings?: boolean
  /**
   * The resource name for `resource` rules and `match.path`. Use it to fold paths the
   * framework cannot (e.g. `/files/*` served by one wildcard handler). Undefined (or a hook
   * that fails) means the default.
   * @default the matched route pattern where the framework knows it, else the path without
   * query, in the spelling {@link routing} makes canonical
   */
  normalizeResource?: (req: Req) => string | undefined
  /**
   * How the framework tells paths apart, so that every spelling it routes to one handler is
   * one resource (for `match.path` and `resource` keys): percent-encoding is always decoded
   * once; case, trailing and duplicate slashes are folded as set here. Fields you leave out
   * are read from the framework.
   * @default Express: the loosest of its routers (the app's, from 'case sensitive routing' and
   * 'strict routing', and each mounted `express.Router()`'s `caseSensitive` and `strict`);
   * Fastify: its `caseSensitive`, `ignoreTrailingSlash` and `ignoreDuplicateSlashes` options;
   * Koa: the enclosing Koa router's `sensitive` and `strict`, and the Koa router's app-wide
   * defaults (case and a trailing slash ignored)
   */
  routing?: RoutingOptions
  /**
   * The request's `priority` for `adaptive-concurrency` rules: `critical`, `normal` or
   * `sheddable` (under pressure `sheddable` is turned away first, `critical` last). Anything
   * else, or a hook that fails, means `normal`, reported once.
   * @default none: every request is normal
   */
  prioritize?: (req: Req) => Priority | undefined
  /**
   * Returns true for requests that are not limited at all (health checks, internal callers).
   * Skipped requests get no rate-limit headers.
   */
  skip?: (req: Req) => boolean | PromiseLike<boolean>
  /**
   * Answers a denied request instead of the default problem+json body. `Retry-After` and the
   * rate-limit headers are already set. If it sends nothing, the default answer is sent.
   */
  onLimited?: (req: Req, res: Res, decision: Decision) => unknown
  /** How the HTTP adapters answer denied requests. */
  response?: ResponseOptions
  /**
   * Longest time a leaky-bucket (shaping) rule may hold a request before passing it on. A
   * longer `delayMs` is cut to this; size `burst` so that burst × window / limit fits in it.
   * @default 10_000
   */
  maxDelayMs?: number
  /**
   * Give back the unit of a request once its response is sent with a status of 400 or more:
   * only requests that succeeded count. Refunded through `limiter.refund`. A request whose
   * client hung up before the answer stays counted (express-rate-limit refunds it; a client
   * could then run the handler without limit by hanging up each time).
   * @default false
   */
  skipFailedRequests?: boolean
  /**
   * Give back the units of requests whose response status is below 400: only failures count,
   * e.g. failed logins against a password-guessing limit.
   * @default false
   */
  skipSuccessfulRequests?: boolean
  /**
   * Where the adapter reports a failing limiter (once per outage, not per request). When the
   * adapter builds the limiter, it gets this logger too (rejected config files, unreachable
   * config sources).
   * @default console (Fastify: the instance's logger)
   */
  logger?: Logger
}

/** Either a built limiter (shared, closed by you) or the options to build one (closed with the app). */
export type LimiterSource = { limiter: Limiter } | LimiterOptions

export type AdapterOptions<Req, Res> = AdapterHooks<Req, Res> & LimiterSource

/** Header names are tokens (RFC 9110): no spaces, colons or control characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/
const DEVICE_HEADER_ERROR = "must be a header name such as 'x-device-id', or false to read none"
const trueOrFalse = boolean('must be true or false')
const hook = refine(unknownValue(), (value) => typeof value === 'function', 'must be a function')

/**
 * The adapter's own options, read with a schema like the store and response options; what the
 * adapter does not know goes to `createLimiter`. Descriptions are the doc comments of
 * {@link AdapterHooks}, kept alike by test/config/option-docs.test.ts.
 */
export const adapterHooksSchema = object(
  {
    identify: describe(
      optional(hook),
      'The account the request belongs to, for account rules; undefined for anonymous requests. Read it from something the server has verified (a session, a checked token). An unverified header lets every client choose its own bucket, and so its own limit. Default: none: no account, so account rules never apply.',
    ),
    identifyDevice: describe(
      optional(hook),
      'The device the request comes from, for device rules, when the app knows it better than a header can say (a verified cookie, a claim of a checked token). Undefined (or a hook that fails) falls back to deviceHeader, then to the client address. Its values have a key space of their own: no header value can name the same bucket. Default: none: the header, else the address.',
    ),
    deviceHeader: describe(
      optional(
        union(
          [literal(false, DEVICE_HEADER_ERROR), string(DEVICE_HEADER_ERROR, { pattern: HEADER_NAME.source })],
          DEVICE_HEADER_ERROR,
        ),
      ),
      'The request header that names the device, or false to read none (then device is the client address unless identifyDevice names one). Any client can send any value here, so a header alone lets a bot take a fresh bucket per request: see deviceSecret. Default: x-device-id.',
    ),
    deviceSecret: describe(
      optional(unknownValue()),
      'Counts a header value only when it is ID.SIGNATURE signed with this secret (HMAC-SHA256 over ID, base64url without padding: signDeviceId(id, secret) from diana-limiter makes one); the device is then ID. Anything else (unsigned, forged, longer than 256 characters) falls back to the client address. At least 16 bytes. Default: none: any header value counts as sent.',
    ),
    ipv6Subnet: describe(
      optional(
        number(`must be a whole number of bits from ${MIN_IPV6_SUBNET} to ${MAX_IPV6_SUBNET}`, {
          integer: true,
          minimum: MIN_IPV6_SUBNET,
          maximum: MAX_IPV6_SUBNET,
        }),
      ),
      'How many leading bits of an IPv6 client address name one client, for ip rules and the address fallback of device; 32 to 128 (128: per address). IPv4 and IPv4-mapped IPv6 addresses are always counted per address. Default: 56.',
    ),
    proxyWarnings: describe(
      optional(trueOrFalse),
      'Warn (once each, through logger) when X-Forwarded-For arrives but the framework does not trust proxies, and when the first 100 requests all come from one private address with proxy headers: both mean every client is probably counted as the proxy. Default: true.',
    ),
    normalizeResource: describe(
      optional(hook),
      'The resource name for resource rules and match.path. Use it to fold paths the framework cannot (e.g. /files/* served by one wildcard handler). Undefined (or a hook that fails) means the default. Default: the matched route pattern where the framework knows it, else the path without query, in the spelling routing makes canonical.',
    ),
    routing: describe(
      optional(
        object(
          Object.fromEntries(ROUTING_FIELDS.map((field) => [field, optional(trueOrFalse)])),
          'must be an object such as { caseSensitive: false }',
        ),
      ),
      "How the framework tells paths apart, so that every spelling it routes to one handler is one resource (for match.path and resource keys): percent-encoding is always decoded once; case, trailing and duplicate slashes are folded as set here. Fields you leave out are read from the framework. Default: Express: the loosest of its routers (the app's, from 'case sensitive routing' and 'strict routing', and each mounted express.Router()'s caseSensitive and strict); Fastify: its caseSensitive, ignoreTrailingSlash and ignoreDuplicateSlashes options; Koa: the enclosing Koa router's sensitive and strict, and the Koa router's app-wide defaults (case and a trailing slash ignored).",
    ),
    prioritize: describe(
      optional(hook),
      "The request's priority for adaptive-concurrency rules: critical, normal or sheddable (under pressure sheddable is turned away first, critical last). Anything else, or a hook that fails, means normal, reported once. Default: none: every request is normal.",
    ),
    skip: describe(
      optional(hook),
      'Returns true for requests that are not limited at all (health checks, internal callers). Skipped requests get no rate-limit headers.',
    ),
    onLimited: describe(
      optional(hook),
      'Answers a denied request instead of the default problem+json body. Retry-After and the rate-limit headers are already set. If it sends nothing, the default answer is sent.',
    ),
    response: optional(responseSchema),
    maxDelayMs: describe(
      optional(number('must be a finite number of ms >= 0', { minimum: 0 })),
      'Longest time a leaky-bucket (shaping) rule may hold a request before passing it on. A longer delayMs is cut to this; size burst so that burst × window / limit fits in it. Default: 10000.',
    ),
    skipFailedRequests: describe(
      optional(trueOrFalse),
      'Give back the unit of a request once its response is sent with a status of 400 or more: only requests that succeeded count. Refunded through limiter.refund. A request whose client hung up before the answer stays counted (express-rate-limit refunds it; a client could then run the handler without limit by hanging up each time). Default: false.',
    ),
    skipSuccessfulRequests: describe(
      optional(trueOrFalse),
      'Give back the units of requests whose response status is below 400: only failures count, e.g. failed logins against a password-guessing limit. Default: false.',
    ),
    logger: describe(
      optional(
        refine(
          unknownValue(),
          (logger) => typeof (logger as Logger | null)?.warn === 'function',
          'must have a warn(message) method',
        ),
      ),
      "Where the adapter reports a failing limiter (once per outage, not per request). When the adapter builds the limiter, it gets this logger too (rejected config files, unreachable config sources). Default: console (Fastify: the instance's logger).",
    ),
  },
  'must be an options object such as { rules: [...] } or { limiter }',
)

/** The options the adapter reads itself; any other goes to `createLimiter`. */
export const HOOK_NAMES = Object.keys(adapterHooksSchema.shape) as (keyof AdapterHooks<unknown, unknown>)[]

export const DEFAULT_ADAPTER_OPTIONS = {
  response: DEFAULT_RESPONSE_OPTIONS,
  maxDelayMs: 10_000,
  deviceHeader: 'x-device-id',
  ipv6Subnet: DEFAULT_IPV6_SUBNET,
  proxyWarnings: true,
  skipFailedRequests: false,
  skipSuccessfulRequests: false,
} as const

/** Everything an adapter needs, checked once at setup. */
export interface ResolvedOptions<Req, Res> {
  limiter: Limiter
  /** True when the adapter built the limiter and so must close it. */
  ownsLimiter: boolean
  identify: AdapterHooks<Req, Res>['identify']
  identifyDevice: AdapterHooks<Req, Res>['identifyDevice']
  /** Lower case; undefined when no header is read. */
  deviceHeader: string | undefined
  /** The `deviceSecret` as an HMAC key. */
  deviceKey: Buffer | undefined
  ipv6Subnet: number
  proxyWarnings: boolean
  normalizeResource: AdapterHooks<Req, Res>['normalizeResource']
  routing: RoutingOptions | undefined
  prioritize: AdapterHooks<Req, Res>['prioritize']
  skip: AdapterHooks<Req, Res>['skip']
  onLimited: AdapterHooks<Req, Res>['onLimited']
  status: 429 | 503
  overloadStatus: 429 | 503
  headers: HeaderStyle
  maxDelayMs: number
  skipFailedRequests: boolean
  skipSuccessfulRequests: boolean
  logger: Logger
  /** The store refuses requests when it fails (`store.onFailure: 'closed'`). */
  failClosed: boolean
}

/**
 * Validates adapter options (a TypeError naming the option) and builds the limiter unless one
 * was given. Options that are not hooks go to `createLimiter` untouched, so everything it takes
 * (`rules`, `config`, `store`, `clock`, ...) works here too.
 */
export function resolveOptions<Req, Res>(
  options: AdapterOptions<Req, Res>,
  where: string,
  defaultLogger: Logger = console,
): ResolvedOptions<Req, Res> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${where}: expected an options object such as { rules: [...] } or { limiter }`)
  }
  const hooks: Record<string, unknown> = {}
  const limiterOptions: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    const isHook = (HOOK_NAMES as readonly string[]).includes(key)
    // Other keys go to createLimiter, which knows its own; a near-miss of a hook is caught here.
    const nearHook = isHook || key === 'limiter' ? '' : peerHint(key) || hint(key, HOOK_NAMES)
    if (nearHook !== '') throw new TypeError(`${where}: unknown option "${key}"${nearHook}`)
    if (isHook) hooks[key] = value
    // The limiter reports config problems through the same logger.
    if ((!isHook || key === 'logger') && key !== 'limiter') limiterOptions[key] = value
  }
  const read = readOptions(adapterHooksSchema, hooks, '', where)
  const routing =
    read.routing !== undefined && Object.keys(read.routing).length > 0 ? read.routing : undefined
  const ownResponse: ResponseOptions = read.response ?? {}
  const d = DEFAULT_ADAPTER_OPTIONS
  const maxDelayMs = read.maxDelayMs ?? d.maxDelayMs
  const deviceHeader =
    read.deviceHeader === false ? undefined : (read.deviceHeader ?? d.deviceHeader).toLowerCase()
  const ipv6Subnet = read.ipv6Subnet ?? d.ipv6Subnet
  const proxyWarnings = read.proxyWarnings ?? d.proxyWarnings
  const skipFailedRequests = read.skipFailedRequests ?? d.skipFailedRequests
  const skipSuccessfulRequests = read.skipSuccessfulRequests ?? d.skipSuccessfulRequests
  const secret = hooks.deviceSecret === undefined ? undefined : deviceKey(hooks.deviceSecret, where)
  const logger = (hooks.logger ?? defaultLogger) as Logger

  const given = (options as { limiter?: unknown }).limiter
  let limiter: Limiter
  if (given !== undefined) {
    // Duck-typed: an ESM and a CJS copy of the package make two distinct Limiter classes.
    const candidate = given as Partial<Limiter> | null
    if (typeof candidate?.check !== 'function' || typeof candidate.windowOf !== 'function') {
      throw new TypeError(`${where}: limiter must be a Limiter made by createLimiter`)
    }
    const extra = Object.keys(limiterOptions).filter((key) => key !== 'logger')
    if (extra.length > 0) {
      throw new TypeError(
        `${where}: pass either a built limiter or the options to build one, not both (got limiter and ${extra.join(', ')})`,
      )
    }
    limiter = given as Limiter
  } else {
    limiter = createLimiter(limiterOptions as unknown as LimiterOptions)
  }
  // A config file's `response` section applies where the adapter options say nothing.
  const file = (limiter as ConfiguredLimiter).config
  const response: ResponseOptions = { ...file?.response, ...ownResponse }
  return {
    limiter,
    ownsLimiter: given === undefined,
    identify: hooks.identify as ResolvedOptions<Req, Res>['identify'],
    identifyDevice: hooks.identifyDevice as ResolvedOptions<Req, Res>['identifyDevice'],
    deviceHeader,
    deviceKey: secret,
    ipv6Subnet,
    proxyWarnings,
    normalizeResource: hooks.normalizeResource as ResolvedOptions<Req, Res>['normalizeResource'],
    routing,
    prioritize: hooks.prioritize as ResolvedOptions<Req, Res>['prioritize'],
    skip: hooks.skip as ResolvedOptions<Req, Res>['skip'],
    onLimited: hooks.onLimited as ResolvedOptions<Req, Res>['onLimited'],
    status: response.status ?? DEFAULT_ADAPTER_OPTIONS.response.status,
    overloadStatus: response.overloadStatus ?? DEFAULT_ADAPTER_OPTIONS.response.overloadStatus,
    headers: response.headers ?? DEFAULT_ADAPTER_OPTIONS.response.headers,
    maxDelayMs,
    skipFailedRequests,
    skipSuccessfulRequests,
    logger,
    failClosed: failsClosed(limiterOptions.store, limiter),
  }
}

/** What the adapter reads of a config file (`limiter.config`), when the limiter has one. */
interface FileSettings {
  response?: ResponseOptions
  store?: { onFailure?: string }
}
type ConfiguredLimiter = Limiter & { config?: FileSettings }

/** Whether the store refuses requests while it is down: `onFailure: 'closed'`, in code or file. */
/** Whether the limiter's store refuses requests while down: by the options given or its config file. */
export function failsClosed(store: unknown, limiter: Limiter): boolean {
  const fromOptions = (store as { onFailure?: unknown } | undefined)?.onFailure
  if (fromOptions !== undefined) return fromOptions === 'closed'
  return (limiter as ConfiguredLimiter).config?.store?.onFailure === 'closed'
}
