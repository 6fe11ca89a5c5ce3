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

/** What Express (without settings), @koa/router and most routers do. */
export const FOLDING_ROUTING: Routing = Object.freeze({
  caseSensitive: false,
  ignoreTrailingSlash: true,
  ignoreDuplicateSlashes: false,
})

const ENCODED_RUN = /(?:%[0-9A-Fa-f]{2})+/g
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
  if (canonical.includes('%')) canonical = canonical.replace(ENCODED_RUN, decodeRun)
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

/** A run of escapes that is not valid UTF-8 stays as it was: no spelling of a routed path has one. */
function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run)
  } catch {
    return run
  }
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
