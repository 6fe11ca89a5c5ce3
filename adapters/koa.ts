import type { Context, Middleware } from 'koa'
import type { Decision } from '../src/decision'
import type { Limiter } from '../src/limiter'
import { type Binding, Gate } from './core/gate'
import type { AdapterHooks, AdapterOptions, LimiterSource } from './core/options'
import { PROBLEM_JSON } from './core/problem'
import { FOLDING_ROUTING, type Routing, routing } from './core/resource-path'

export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'

declare module 'koa' {
  interface DefaultState {
    /**
     * The diana-limiter decision for this request (also on a denied one, for `onLimited`);
     * undefined where no Diana middleware ran, or it skipped the request.
     */
    rateLimit?: Decision
  }
}

/** Options of the Koa middleware: a limiter (or its options) plus the adapter hooks, on `ctx`. */
export type DianaKoaOptions = Omit<AdapterHooks<Context, Context>, 'onLimited'> & {
  /**
   * Answers a denied request (set `ctx.status` and `ctx.body`) instead of the default
   * problem+json body. `Retry-After` and the rate-limit headers are already set.
   */
  onLimited?: (ctx: Context, decision: Decision) => unknown
} & LimiterSource

export type DianaKoaMiddleware = Middleware & {
  readonly limiter: Limiter
  /** Closes the limiter if the middleware built it. */
  close(): Promise<void>
}

interface RouterLayer {
  path: string | RegExp
  methods: string[]
  stack?: unknown[]
  regexp?: unknown
  opts?: { sensitive?: boolean }
}
type RoutedContext = Context & {
  matched?: RouterLayer[]
  _matchedRoute?: string | RegExp
  router?: { opts?: { sensitive?: boolean; strict?: boolean } }
}

/**
 * The route pattern @koa/router matched, read from `ctx.matched` (its layers): inside
 * `router.use(...)`, `ctx._matchedRoute` names the `use` layer rather than the route. Like the
 * router, the last route layer for this method wins.
 */
function matchedRoute(ctx: RoutedContext): string | undefined {
  const layers = ctx.matched
  if (layers !== undefined) {
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i] as RouterLayer
      if (layer.methods.includes(method) && typeof layer.path === 'string') return layer.path
    }
  }
  const route = ctx._matchedRoute
  return typeof route === 'string' && route !== '' ? route : undefined
}

/**
 * Inside a @koa/router router, its `sensitive` and `strict` options; app-wide, before any
 * router, @koa/router's defaults (case and a trailing slash ignored), the usual Koa routing.
 */
function routingOf(router: RoutedContext['router']): Routing {
  const options = router?.opts
  if (options === undefined) return FOLDING_ROUTING
  return routing(options.sensitive === true, options.strict !== true, false)
}

/**
 * Koa's `ctx.get(name)` for the names the gate reads (lower case), without the two getter hops
 * (`ctx` delegates to `ctx.request`, which switches on the name) on every request; the one
 * name Koa treats specially goes through Koa.
 */
function header(ctx: Context, name: string): string | undefined {
  if (name === 'referer' || name === 'referrer') return ctx.get(name) || undefined
  const value = ctx.req.headers[name]
  if (value === undefined || value === '') return undefined
  return typeof value === 'string' ? value : value.join(', ')
}

// Each accessor reads `ctx.request` or the Node objects directly rather than through `ctx`'s
// delegating getters (one extra getter call and lookup each): the values are the same, and
// on Koa, the one framework whose accessors are all getters, they were a measurable share of
// the middleware's cost (scripts/bench/http-overhead.ts, docs/benchmarks.md).
const binding: Binding<Context, Context> = {
  // `ctx.request.ip` honours `app.proxy` (and an ip set by earlier middleware); X-Forwarded-For
  // counts only when the app trusts its proxy.
  clientIp: (ctx) => ctx.request.ip || ctx.req.socket.remoteAddress,
  header,
  // Known once @koa/router has matched: inside `router.use(...)` or a route's own middleware.
  route: (ctx) => matchedRoute(ctx),
  path: (ctx) => ctx.request.path,
  routing: (ctx) => routingOf((ctx as RoutedContext).router),
  // `ctx.method = ...` (method-override middleware) writes `ctx.req.method`.
  method: (ctx) => ctx.req.method as string,
  attach: (ctx, decision) => {
    ctx.state.rateLimit = decision
  },
  proxySetting: 'Koa: app.proxy = true',
  // What `ctx.set(name, value)` does for a string value, without its getters and checks:
  // the gate writes its headers before the handler runs, so none have been sent.
  setHeader: (ctx, name, value) => {
    const res = ctx.res
    if (!res.headersSent) res.setHeader(name, value)
  },
  responded: (ctx) => ctx.body !== undefined && ctx.body !== null,
  sendProblem: (ctx, status, body) => {
    ctx.status = status
    ctx.type = PROBLEM_JSON
    ctx.body = body
  },
  raw: (ctx) => ctx.res,
}

/**
 * Whether this middleware runs in a `router.use(...)` layer that @koa/router matches with case
 * while its router ignores case: a prefixed router's (`new Router({ prefix: '/api' })`) or a
 * nested router's mount path. @koa/router 15 builds such a layer's pattern without the
 * case-insensitive flag, so `/API/seckill/1` skips the layer (and the limiter) but still
 * reaches the route. Read from the layer itself, so a @koa/router that fixes it is not flagged.
 */
function inCaseSensitiveUseLayer(ctx: RoutedContext, middleware: Middleware): boolean {
  const layers = ctx.matched
  if (layers === undefined) return false
  for (const layer of layers) {
    if (layer.methods.length !== 0 || !layer.stack?.includes(middleware)) continue
    if (layer.opts?.sensitive === true || typeof layer.path !== 'string') return false
    const regexp = layer.regexp
    // Letters in the pattern (escapes such as `\/` aside) are what case can change.
    return (
      regexp instanceof RegExp &&
      !regexp.flags.includes('i') &&
      /[A-Za-z]/.test(layer.path.replace(/\\./g, ''))
    )
  }
  return false
}

const USE_LAYER_WARNING =
  "runs in router.use() of a prefixed (or nested) @koa/router router that ignores case, but @koa/router matches that layer's prefix with case: a request for another case of the prefix (/API/... for /api) reaches the routes without passing the limiter. Put the limiter on the routes (router.post(path, limit, handler)) or app-wide, or make the router sensitive: true. Reported once."

/**
 * Koa middleware (Koa 2 and 3). Use it app-wide, or inside a @koa/router router to count per
 * route pattern: on the routes (`router.post('/buy/:sku', limit, handler)`), or with
 * `router.use(limit)` in a router without a `prefix`. Not `router.use(limit)` in a prefixed
 * router that ignores case (the default): @koa/router 15 matches such a `use` layer's prefix
 * with case, so `/API/buy/1` runs the route of `/api/buy/1` without the limiter. The middleware
 * warns once through the logger when it finds itself there.
 */
export function diana(options: DianaKoaOptions): DianaKoaMiddleware {
  const onLimited = options?.onLimited
  // The core calls onLimited(req, res, decision); in Koa both are the context.
  const adapted =
    typeof onLimited === 'function'
      ? {
          ...options,
          onLimited: (ctx: Context, _res: Context, decision: Decision) => onLimited(ctx, decision),
        }
      : options
  const gate = new Gate(adapted as AdapterOptions<Context, Context>, binding, 'diana-limiter/koa')
  // Routers already looked at for the `use` layer caveat; none once it has been reported.
  let checkedRouters: WeakSet<object> | undefined = new WeakSet()
  const middleware: Middleware = (ctx, next) => {
    const router = (ctx as RoutedContext).router
    if (checkedRouters !== undefined && router !== undefined && !checkedRouters.has(router)) {
      checkedRouters.add(router)
      if (inCaseSensitiveUseLayer(ctx as RoutedContext, middleware)) {
        checkedRouters = undefined
        gate.warn(USE_LAYER_WARNING)
      }
    }
    const pass = gate.handle(ctx, ctx)
    // Decided at once (the usual case with a memory store): no extra promise to wait on.
    if (pass === true) return next()
    if (pass === false) return Promise.resolve()
    return pass.then((yes) => (yes ? next() : undefined))
  }
  return Object.assign(middleware, { limiter: gate.limiter, close: () => gate.close() })
}

export default diana
