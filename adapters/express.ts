import type { Application, Request, RequestHandler, Response } from 'express'
import type { Decision } from '../src/decision'
import type { Limiter } from '../src/limiter'
import { type Binding, Gate } from './core/gate'
import type { AdapterOptions } from './core/options'
import { PROBLEM_JSON } from './core/problem'
import { FOLDING_ROUTING, type Routing, routing, targetPath } from './core/resource-path'

export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'

declare global {
  namespace Express {
    interface Request {
      /**
       * The diana-limiter decision for this request (also on a denied one, for `onLimited`);
       * undefined where no Diana middleware ran, or it skipped the request.
       */
      rateLimit?: Decision
    }
  }
}

/** Options of the Express middleware: a limiter (or its options) plus the adapter hooks. */
export type DianaExpressOptions = AdapterOptions<Request, Response>

/** The middleware, with the limiter it uses (for metrics, or to share) and a way to close it. */
export type DianaExpressMiddleware = RequestHandler & {
  readonly limiter: Limiter
  /** Closes the limiter if the middleware built it. */
  close(): Promise<void>
}

const binding: Binding<Request, Response> = {
  // `req.ip` follows the app's `trust proxy` setting; X-Forwarded-For counts only when trusted.
  clientIp: (req) => req.ip ?? req.socket.remoteAddress,
  header: (req, name) => headerValue(req.headers[name]),
  route: (req) => {
    // Set only when the middleware runs inside a route (`app.get(path, diana(...), handler)`);
    // app- and router-level middleware run before routing and fall back to the path.
    const path = req.route?.path
    return typeof path === 'string' ? req.baseUrl + path : undefined
  },
  // As the router sees it: absolute-form targets (`POST http://host/api/x`) and fragments too.
  path: (req) => targetPath(req.originalUrl ?? req.url),
  routing: (req) => routingOf(req.app),
  method: (req) => req.method,
  attach: (req, decision) => {
    req.rateLimit = decision
  },
  proxySetting: "Express: app.set('trust proxy', ...)",
  setHeader: (res, name, value) => {
    res.setHeader(name, value)
  },
  responded: (res) => res.headersSent,
  sendProblem: (res, status, body) => {
    res.statusCode = status
    res.setHeader('Content-Type', PROBLEM_JSON)
    res.end(body)
  },
  raw: (res) => res,
}

/** What Express 4 and 5 routers (`express.Router()`, and the app's own) have in common. */
interface ExpressRouter {
  stack: readonly { handle?: unknown }[]
  caseSensitive?: boolean
  strict?: boolean
}

interface Walked {
  /** The app router the walk started from (Express 4 creates it lazily). */
  root: ExpressRouter | undefined
  /** Every router reached, with its stack length then: a router mounted since changes one. */
  routers: { router: ExpressRouter; length: number }[]
  routing: Routing
}

const walks = new WeakMap<object, Walked>()

/**
 * The loosest routing among the app's routers. An app-wide limiter runs before routing, so it
 * cannot know which router will take the request: `app.set('case sensitive routing', true)`
 * with a plain `express.Router()` at /api (case ignored, its default) still routes
 * `/api/SECKILL/1` to `/api/seckill/:sku`, and the resource must fold case to match
 * `/api/seckill/**`. So case folds if any router ignores case and a trailing slash goes if any
 * router is not strict: over-folding only puts spellings the app would 404 into a bucket.
 *
 * Express copies 'case sensitive routing' and 'strict routing' into the app router when it is
 * created (at the first route) and only those copies count, so routers are read, not settings.
 * The walk is kept per app and redone when any router reached has gained layers since (a
 * router mounted after the first request): per request, one length check per router.
 * Sub-apps (`app.use(path, otherApp)`) are hidden inside a wrapper and not walked.
 */
export function routingOf(app: Application | undefined): Routing {
  if (app === undefined) return FOLDING_ROUTING
  const root = ((app as { _router?: unknown })._router ?? (app as { router?: unknown }).router) as
    | ExpressRouter
    | undefined
  let walked = walks.get(app)
  if (walked === undefined || walked.root !== root || grown(walked.routers)) {
    walked = walk(app, root)
    walks.set(app, walked)
  }
  return walked.routing
}

function grown(routers: Walked['routers']): boolean {
  for (const { router, length } of routers) if (router.stack.length !== length) return true
  return false
}

function isRouter(handle: unknown): handle is ExpressRouter {
  return typeof handle === 'function' && Array.isArray((handle as { stack?: unknown }).stack)
}

function walk(app: Application, root: ExpressRouter | undefined): Walked {
  if (root === undefined || !isRouter(root)) {
    // No router yet: the settings it will be made with.
    return {
      root,
      routers: [],
      routing: routing(app.enabled('case sensitive routing'), !app.enabled('strict routing'), false),
    }
  }
  let foldsCase = false
  let ignoresSlash = false
  const routers: Walked['routers'] = []
  const seen = new Set<ExpressRouter>([root])
  const pending = [root]
  for (let router = pending.pop(); router !== undefined; router = pending.pop()) {
    routers.push({ router, length: router.stack.length })
    // Unset (undefined) is Express's default: case ignored, not strict.
    if (router.caseSensitive !== true) foldsCase = true
    if (router.strict !== true) ignoresSlash = true
    for (const layer of router.stack) {
      const handle = layer?.handle
      if (isRouter(handle) && !seen.has(handle)) {
        seen.add(handle)
        pending.push(handle)
      }
    }
  }
  return { root, routers, routing: routing(!foldsCase, ignoresSlash, false) }
}

/** Nothing left to do once the gate has answered. */
function answered(): void {}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * Express middleware (Express 4 and 5). Use it app-wide, per router (`router.use(diana(...))`)
 * or per route (`app.post('/buy/:sku', diana(...), handler)`); each call is its own limiter
 * unless you pass a shared one.
 */
export function diana(options: DianaExpressOptions): DianaExpressMiddleware {
  const gate = new Gate(options, binding, 'diana-limiter/express')
  // Decided at once (the usual case with a memory store), the request goes on in the same tick.
  const middleware: RequestHandler = (req, res, next) => gate.handleThen(req, res, next, answered, next)
  return Object.assign(middleware, { limiter: gate.limiter, close: () => gate.close() })
}

export default diana
