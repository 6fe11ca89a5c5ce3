import type { Context, Middleware } from 'koa'
import type { Limiter } from '../src/limiter'
import type { Decision } from '../src/types'
import { type Binding, Gate } from './core/gate'
import type { AdapterHooks, AdapterOptions, LimiterSource } from './core/options'
import { PROBLEM_JSON } from './core/problem'
import { FOLDING_ROUTING, type Routing, routing } from './core/resource-path'

export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'

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

const binding: Binding<Context, Context> = {
  // `ctx.ip` honours `app.proxy`; X-Forwarded-For counts only when the app trusts its proxy.
  clientIp: (ctx) => ctx.ip || ctx.req.socket.remoteAddress,
  header: (ctx, name) => ctx.get(name) || undefined,
  // Known once @koa/router has matched: inside `router.use(...)` or a route's own middleware.
  route: (ctx) => matchedRoute(ctx),
  path: (ctx) => ctx.path,
  routing: (ctx) => routingOf((ctx as RoutedContext).router),
  method: (ctx) => ctx.method,
  setHeader: (ctx, name, value) => ctx.set(name, value),
  responded: (ctx) => ctx.body !== undefined && ctx.body !== null,
  sendProblem: (ctx, status, body) => {
    ctx.status = status
    ctx.type = PROBLEM_JSON
    ctx.body = body
  },
  raw: (ctx) => ctx.res,
}

/**
 * Koa middleware (Koa 2 and 3). Use it app-wide, or inside a @koa/router router
 * (`router.use(diana(...))`) to count per route pattern.
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
  const middleware: Middleware = (ctx, next) => {
    const pass = gate.handle(ctx, ctx)
    // Decided at once (the usual case with a memory store): no extra promise to wait on.
    if (pass === true) return next()
    if (pass === false) return Promise.resolve()
    return pass.then((yes) => (yes ? next() : undefined))
  }
  return Object.assign(middleware, { limiter: gate.limiter, close: () => gate.close() })
}

export default diana
