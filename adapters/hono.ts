import type { Context, MiddlewareHandler } from 'hono'
import type { ConnInfo } from 'hono/conninfo'
import type { Decision } from '../src/decision'
import type { Limiter } from '../src/limiter'
import { type Binding, Gate } from './core/gate'
import type { AdapterHooks, AdapterOptions, LimiterSource } from './core/options'
import { PROBLEM_JSON } from './core/problem'
import type { RawResponse } from './core/raw-response'
import { type Routing, routing } from './core/resource-path'
import { checkTrustProxy, type TrustProxy, trustedClient } from './core/trust-proxy'
import { WebResponse } from './core/web-response'

export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'
export type { TrustProxy } from './core/trust-proxy'

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * The diana-limiter decision for this request (also on a denied one, for `onLimited`):
     * `c.get('rateLimit')`. Undefined where no Diana middleware ran, or it skipped the request.
     */
    rateLimit: Decision | undefined
  }
}

/** The context variables the middleware sets, for `new Hono<{ Variables: DianaVariables }>()`. */
export type DianaVariables = { rateLimit: Decision | undefined }

/** Options of the Hono middleware: a limiter (or its options) plus the adapter hooks, on `c`. */
export type DianaHonoOptions = Omit<AdapterHooks<Context, Context>, 'onLimited'> & {
  /**
   * The runtime's connection-info helper, for the client address: `getConnInfo` from
   * `@hono/node-server/conninfo` (Node), `hono/bun` (Bun), `hono/deno` (Deno), or any
   * `(c) => ({ remote: { address } })`.
   * @default on @hono/node-server, the socket's address; elsewhere none (every client is then
   * one `unknown` address, and the middleware warns once)
   */
  connInfo?: (c: Context) => ConnInfo
  /**
   * Which proxies to believe about the client address (X-Forwarded-For). Hono has no setting of
   * its own: `false` believes none, a number `n` the `n` proxies nearest the app, `true` every
   * hop (the leftmost address), a function `(address, hop) => boolean` each hop it accepts.
   * @default false: X-Forwarded-For is ignored
   */
  trustProxy?: TrustProxy
  /**
   * Answers a denied request instead of the default problem+json body: return a `Response`
   * (`c.json(...)`, `c.text(...)`). `Retry-After` and the rate-limit headers are added to it
   * where it has none of its own. Returning nothing sends the default answer.
   */
  onLimited?: (c: Context, decision: Decision) => Response | undefined | PromiseLike<Response | undefined>
} & LimiterSource

export type DianaHonoMiddleware = MiddlewareHandler & {
  readonly limiter: Limiter
  /** Closes the limiter if the middleware built it. */
  close(): Promise<void>
}

/** One request as the gate answers it: the headers to add and the answer, if any. */
class Exchange {
  /** Name, value, name, value, ...: set on whatever response the request ends with. */
  readonly headers: string[] = []
  response: Response | undefined
  readonly c: Context
  readonly raw: RawResponse
  /** Set where the runtime is not Node: its response's life is followed by hand. */
  readonly web: WebResponse | undefined

  constructor(c: Context, raw: RawResponse | undefined, peer: () => string | undefined) {
    this.c = c
    if (raw !== undefined) {
      this.raw = raw
      this.web = undefined
    } else {
      this.web = new WebResponse(c.req.raw.signal, peer())
      this.raw = this.web
    }
  }
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } }
  outgoing?: RawResponse
}

/** @hono/node-server's bindings (`c.env`, or `c.env.server` where the app has its own env). */
function nodeBindings(c: Context): NodeBindings | undefined {
  const env = c.env as { server?: NodeBindings } & NodeBindings
  if (env === undefined || env === null || typeof env !== 'object') return undefined
  const bindings = env.server ?? env
  const outgoing = bindings.outgoing
  return typeof outgoing?.once === 'function' && typeof outgoing.writableFinished === 'boolean'
    ? bindings
    : undefined
}

/** Hono routes by the exact path (case and a trailing slash count; `strict: false` strips the
 * slash before `c.req.path` is made, so the path read is already the router's). */
const HONO_ROUTING: Routing = routing(true, false, false)

/** Patterns that name more than one shape of path: a wildcard, an optional or a regex parameter. */
const LOOSE_PATTERN = /[*?{]/

interface RouteEntry {
  path: string
  method: string
  handler: (...args: unknown[]) => unknown
}

/**
 * The pattern of the route that will answer: Hono matches every route of a request up front,
 * so even app-wide middleware knows it. The first matched route from this middleware on whose
 * handler takes no `next` (a handler, not middleware), as Hono's own route helper tells them.
 * A pattern that fits paths of other shapes (`/files/*`, `/:id?`, `/:p{.+}`) is not one
 * resource a `match.path` glob can be written against, so the path is used instead.
 * `c.req.matchedRoutes` is what Hono's `matchedRoutes(c)` (hono/route, from 4.6) reads; it is
 * deprecated but present through Hono 4, and read here so that the entry imports nothing of
 * Hono at run time. Should a Hono drop it, the resource is the path: never a looser key.
 */
function matchedRoute(c: Context): string | undefined {
  const request = c.req as unknown as { matchedRoutes?: RouteEntry[]; routeIndex?: number }
  let routes: RouteEntry[] | undefined
  try {
    routes = request.matchedRoutes
  } catch {
    return undefined
  }
  if (!Array.isArray(routes)) return undefined
  for (let i = request.routeIndex ?? 0; i < routes.length; i++) {
    const route = routes[i] as RouteEntry
    if (typeof route.handler === 'function' && route.handler.length < 2) {
      return typeof route.path === 'string' && !LOOSE_PATTERN.test(route.path) ? route.path : undefined
    }
  }
  return undefined
}

/** Whether a hook's answer is a Response (by shape: runtimes may swap the global class). */
function isResponse(value: unknown): value is Response {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Response).status === 'number' &&
    typeof (value as Response).headers?.get === 'function'
  )
}

/** Adds the gate's headers where the response has none of that name (an inner limiter's win). */
function addHeaders(response: Response, headers: readonly string[]): Response {
  let target = response
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const own = target.headers
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i] as string
        if (!own.has(name)) own.set(name, headers[i + 1] as string)
      }
      return target
    } catch {
      // Immutable headers (a `fetch` response passed through, `Response.redirect`): a copy.
      target = new Response(target.body, target)
    }
  }
  return target
}

const UNKNOWN_ADDRESS_WARNING =
  'cannot tell the client address: pass your runtime\'s connection-info helper (connInfo: getConnInfo from @hono/node-server/conninfo, hono/bun or hono/deno). Until then every client counts as one address, "unknown", for ip rules and the device fallback. Reported once.'

/**
 * Hono middleware (Hono 4) on Web-standard Request/Response: Node (@hono/node-server), Bun,
 * Deno. Use it app-wide (`app.use(diana(...))`) or on routes (`app.post(path, limit, handler)`);
 * either way it counts per route pattern, which Hono knows before any middleware runs. The
 * decision is `c.get('rateLimit')`.
 */
export function diana(options: DianaHonoOptions): DianaHonoMiddleware {
  const where = 'diana-limiter/hono'
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${where}: expected an options object such as { rules: [...] } or { limiter }`)
  }
  const { connInfo, trustProxy, onLimited, ...rest } = options as DianaHonoOptions & {
    connInfo?: unknown
    trustProxy?: unknown
  }
  if (connInfo !== undefined && typeof connInfo !== 'function') {
    throw new TypeError(
      `${where}: connInfo must be a function (c) => ConnInfo, such as getConnInfo from @hono/node-server/conninfo`,
    )
  }
  const trust = checkTrustProxy(trustProxy, where)
  let warnedAddress = false
  let gate: Gate<Context, Exchange> | undefined

  /**
   * The connection's peer: from `connInfo`, else @hono/node-server's socket. On Node, a
   * `connInfo` that fails or names no address (another runtime's helper, a header that is
   * missing) falls back to the socket: it still names the peer, and without it every request
   * would look like a client that went away and be refused.
   */
  const peerOf = (c: Context): string | undefined => {
    let address: unknown
    let failure: unknown
    if (connInfo !== undefined) {
      try {
        address = (connInfo as (c: Context) => ConnInfo)(c)?.remote?.address
      } catch (error) {
        failure = error
      }
      if (typeof address === 'string' && address !== '') return address
    }
    const node = nodeBindings(c)
    const socket = node?.incoming?.socket?.remoteAddress
    if (connInfo !== undefined && !warnedAddress && (node === undefined || typeof socket === 'string')) {
      warnedAddress = true
      const reason =
        failure instanceof Error ? `connInfo failed: ${failure.message}` : 'connInfo named no address'
      gate?.warn(
        node === undefined
          ? `${UNKNOWN_ADDRESS_WARNING.replace('. Until', ` (${reason}). Until`)}`
          : `${reason}; counting clients by the connection's address (the socket's peer) instead. Reported once.`,
      )
    }
    if (node !== undefined) {
      // A Node socket without an address is a client that went away: the gate sees to it.
      return typeof socket === 'string' && socket !== '' ? socket : undefined
    }
    if (!warnedAddress) {
      warnedAddress = true
      gate?.warn(UNKNOWN_ADDRESS_WARNING)
    }
    return undefined
  }

  const binding: Binding<Context, Exchange> = {
    clientIp: (c) => trustedClient(peerOf(c), c.req.raw.headers.get('x-forwarded-for'), trust),
    header: (c, name) => c.req.raw.headers.get(name) ?? undefined,
    route: matchedRoute,
    path: (c) => c.req.path,
    routing: () => HONO_ROUTING,
    method: (c) => c.req.method,
    attach: (c, decision) => c.set('rateLimit', decision),
    proxySetting: 'Hono: the trustProxy option of diana()',
    setHeader: (exchange, name, value) => {
      exchange.headers.push(name, value)
    },
    responded: (exchange) => exchange.response !== undefined,
    sendProblem: (exchange, status, body) => {
      const headers: Record<string, string> = {}
      const list = exchange.headers
      for (let i = 0; i < list.length; i += 2) headers[list[i] as string] = list[i + 1] as string
      headers['Content-Type'] = PROBLEM_JSON
      exchange.response = new Response(body, { status, headers })
    },
    raw: (exchange) => exchange.raw,
  }

  // The core calls onLimited(req, res, decision); here the hook answers with a Response.
  const adapted =
    typeof onLimited === 'function'
      ? {
          ...rest,
          onLimited: async (c: Context, exchange: Exchange, decision: Decision) => {
            const answer = await onLimited(c, decision)
            if (isResponse(answer)) exchange.response = addHeaders(answer, exchange.headers)
          },
        }
      : onLimited === undefined
        ? rest
        : { ...rest, onLimited }
  gate = new Gate(adapted as AdapterOptions<Context, Exchange>, binding, where)
  const own = gate

  const middleware: MiddlewareHandler = async (c, next) => {
    const exchange = new Exchange(c, nodeBindings(c)?.outgoing, () => peerOf(c))
    let pass = own.handle(c, exchange)
    if (pass !== true && pass !== false) pass = await pass
    if (!pass) {
      // Answered, or the client has gone away (no one reads this one).
      return exchange.response ?? new Response(null, { status: 503 })
    }
    try {
      await next()
    } catch (error) {
      exchange.web?.abandon()
      throw error
    }
    if (exchange.headers.length > 0) {
      const response = c.res
      const added = addHeaders(response, exchange.headers)
      if (added !== response) c.res = added
    }
    const web = exchange.web
    if (web !== undefined) {
      const response = c.res
      // Hono answers HEAD with the GET route's headers and drops its body unread.
      const followed = web.follow(response, c.req.method === 'HEAD')
      if (followed !== response) c.res = followed
    }
  }
  return Object.assign(middleware, { limiter: own.limiter, close: () => own.close() })
}

export default diana
