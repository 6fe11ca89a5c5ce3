import { Buffer } from 'node:buffer'

/**
 * How a framework tells paths apart. Another spelling it routes to the same handler must be
 * the same resource to the limiter, or a client walks around `match.path` rules and mints
 * fresh per-resource buckets by changing case or adding a slash.
 */
export interface Routing {
  /** `/API/Items` and `/api/items` are different routes. */
  readonly caseSensitive: boolean
  /** `/api/items/` routes like `/api/items`. */
  readonly ignoreTrailingSlash: boolean
  /** `/api//items` routes like `/api/items`. */
  readonly ignoreDuplicateSlashes: boolean
}

/** Adapter option `routing`: any field given overrides what the adapter reads from the framework. */
export type RoutingOptions = Partial<Routing>

export const ROUTING_FIELDS = ['caseSensitive', 'ignoreTrailingSlash', 'ignoreDuplicateSlashes'] as const

/** Every combination of the three settings, indexed by {@link routingIndex}, made once. */
const ROUTINGS: readonly Routing[] = Array.from({ length: 8 }, (_, index) =>
  Object.freeze({
    caseSensitive: (index & 1) !== 0,
    ignoreTrailingSlash: (index & 2) !== 0,
    ignoreDuplicateSlashes: (index & 4) !== 0,
  }),
)

function routingIndex(caseSensitive: boolean, ignoreTrailingSlash: boolean, ignoreDuplicateSlashes: boolean) {
  return (caseSensitive ? 1 : 0) | (ignoreTrailingSlash ? 2 : 0) | (ignoreDuplicateSlashes ? 4 : 0)
}

/**
 * The routing with these settings: one of eight shared frozen objects, so a binding can work
 * it out per request (or merge an override into it) without allocating or caching anything.
 */
export function routing(
  caseSensitive: boolean,
  ignoreTrailingSlash: boolean,
  ignoreDuplicateSlashes: boolean,
): Routing {
  return ROUTINGS[routingIndex(caseSensitive, ignoreTrailingSlash, ignoreDuplicateSlashes)] as Routing
}

interface FastifyRouterSettings {
  caseSensitive?: boolean
  ignoreTrailingSlash?: boolean
  ignoreDuplicateSlashes?: boolean
}

/**
 * Fastify's router options (`fastify.initialConfig`); in Fastify 5 `routerOptions` wins over
 * the top-level ones. One router serves the whole server, so every encapsulation context has
 * the same. Read by the Fastify plugin and by diana-limiter/nestjs on the Fastify platform.
 */
export function fastifyRouting(
  config: Readonly<FastifyRouterSettings & { routerOptions?: FastifyRouterSettings }>,
): Routing {
  const router = config.routerOptions
  return routing(
    router?.caseSensitive ?? config.caseSensitive ?? true,
    router?.ignoreTrailingSlash ?? config.ignoreTrailingSlash ?? false,
    router?.ignoreDuplicateSlashes ?? config.ignoreDuplicateSlashes ?? false,
  )
}

/** What Express (without settings), @koa/router and most routers do. */
export const FOLDING_ROUTING: Routing = routing(false, true, false)

const SLASH_RUN = /\/{2,}/g
// Anything toLowerCase could change; plain lower-case ASCII paths skip the copy.
const FOLDABLE = /[A-Z\u0080-\uffff]/

/**
 * The one spelling of a path (or route pattern) this routing cannot tell apart from others:
 * percent-encoding decoded once (as routers decode before or while matching), then duplicate
 * and trailing slashes folded and the case lowered where the routing ignores them. Over-folding
 * is the safe side: a spelling the framework would not route ends in a 404 anyway.
 */
export function canonicalResource(path: string, routing: Routing): string {
  let canonical = path
  if (canonical.includes('%')) canonical = decodeEscapes(canonical)
  if (routing.ignoreDuplicateSlashes && canonical.includes('//'))
    canonical = canonical.replace(SLASH_RUN, '/')
  if (routing.ignoreTrailingSlash) {
    let end = canonical.length
    while (end > 1 && canonical.charCodeAt(end - 1) === 0x2f) end--
    if (end < canonical.length) canonical = canonical.slice(0, end)
  }
  if (!routing.caseSensitive && FOLDABLE.test(canonical)) canonical = canonical.toLowerCase()
  return canonical
}

/**
 * `path` with its `.` and `..` segments resolved (RFC 3986 remove_dot_segments; `..` never
 * climbs above the root), for paths a gateway forwards raw: Nginx's `$request_uri` and
 * Envoy's `:path` keep `/a/../login`, which the gateway itself routes (and may forward) as
 * `/login`, so a `match.path: /login` rule must see `/login`. The adapters do not need it:
 * their framework routes the path as it came. Apply after decoding (`canonicalResource`), so
 * that `%2e%2e` counts too.
 */
export function withoutDotSegments(path: string): string {
  if (!path.includes('/.')) return path
  const kept: string[] = []
  const segments = path.split('/')
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string
    if (segment === '.') continue
    if (segment === '..') kept.pop()
    else kept.push(segment)
  }
  // A path ending in a dot segment names the folder: `/a/b/..` is `/a/`.
  const last = segments[segments.length - 1]
  if ((last === '.' || last === '..') && kept[kept.length - 1] !== '') kept.push('')
  return `/${kept.join('/')}`
}

/**
 * Every run of escapes decoded as UTF-8; a run that is not valid UTF-8 stays as it was (no
 * spelling of a routed path has one). Never an exception per run: a 12 KB path of `/%FF`
 * made 3,000 thrown and caught URIErrors, about 20 ms of event loop per request for anyone to
 * ask for. The loop below costs tens of nanoseconds per run, a fraction of a regex replace
 * with a callback.
 */
function decodeEscapes(path: string): string {
  try {
    // The usual case: every escape valid, one call. Runs end at a character that is not an
    // escape and no UTF-8 sequence spans one, so this is the per-run decoding below.
    return decodeURIComponent(path)
  } catch {
    // At least one bad run (or a lone `%`): run by run, without exceptions.
  }
  let decoded = ''
  let copied = 0
  let at = path.indexOf('%')
  while (at >= 0) {
    let end = at
    let bytes = 0
    while (end + 2 < path.length && path.charCodeAt(end) === 0x25) {
      const high = hexValue(path.charCodeAt(end + 1))
      const low = hexValue(path.charCodeAt(end + 2))
      if (high < 0 || low < 0) break
      runBytes = ensureRoom(runBytes, bytes)
      runBytes[bytes++] = (high << 4) | low
      end += 3
    }
    if (bytes > 0) {
      if (isUtf8Run(runBytes, bytes)) {
        decoded += path.slice(copied, at) + runBytes.toString('utf8', 0, bytes)
        copied = end
      }
      at = path.indexOf('%', end)
    } else {
      at = path.indexOf('%', at + 1)
    }
  }
  return copied === 0 ? path : decoded + path.slice(copied)
}

/** The bytes of the run being decoded, reused across runs and calls (grown as needed). */
let runBytes: Buffer = Buffer.allocUnsafe(64)

function ensureRoom(buffer: Buffer, used: number): Buffer {
  if (used < buffer.length) return buffer
  const grown = Buffer.allocUnsafe(buffer.length * 2)
  buffer.copy(grown, 0, 0, used)
  return grown
}

/**
 * Whether the first `length` bytes are UTF-8 as decodeURIComponent accepts it: no overlong
 * forms, no surrogates, nothing past U+10FFFF (the table of ECMA-262's Decode). Written out
 * rather than `isUtf8` from node:buffer: for the short runs of a path, the native call and the
 * view it needs cost more than the check.
 */
function isUtf8Run(bytes: Uint8Array, length: number): boolean {
  let i = 0
  while (i < length) {
    const lead = bytes[i] as number
    if (lead < 0x80) {
      i++
      continue
    }
    let following: number
    let min = 0x80
    let max = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) following = 1
    else if (lead >= 0xe0 && lead <= 0xef) {
      following = 2
      if (lead === 0xe0) min = 0xa0
      else if (lead === 0xed) max = 0x9f
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      following = 3
      if (lead === 0xf0) min = 0x90
      else if (lead === 0xf4) max = 0x8f
    } else return false
    if (i + following >= length) return false
    const second = bytes[i + 1] as number
    if (second < min || second > max) return false
    for (let k = 2; k <= following; k++) {
      const next = bytes[i + k] as number
      if (next < 0x80 || next > 0xbf) return false
    }
    i += following + 1
  }
  return true
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  const lower = code | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}

/**
 * The path of a request target: without query and fragment, and for an absolute-form target
 * (`GET http://host/api/x HTTP/1.1`, which routers accept) the path part of it.
 */
export function targetPath(url: string): string {
  let start = 0
  if (url.charCodeAt(0) !== 0x2f) {
    const scheme = url.indexOf('://')
    if (scheme > 0) {
      const slash = url.indexOf('/', scheme + 3)
      start = slash < 0 ? url.length : slash
    }
  }
  let end = url.length
  const query = url.indexOf('?', start)
  if (query >= 0) end = query
  const fragment = url.indexOf('#', start)
  if (fragment >= 0 && fragment < end) end = fragment
  const path = start === 0 && end === url.length ? url : url.slice(start, end)
  return path === '' ? '/' : path
}
