import type { Application, Request, RequestHandler, Response } from 'express'
import type { Limiter } from '../src/limiter'
import { type Binding, Gate } from './core/gate'
import type { AdapterOptions } from './core/options'
import { PROBLEM_JSON } from './core/problem'
import { FOLDING_ROUTING, type Routing, targetPath } from './core/resource-path'

export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'

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

const routings = new WeakMap<object, Routing>()

/**
 * The app router's own settings. Express copies 'case sensitive routing' and 'strict routing'
 * into its router when the router is created (at the first route), and only those copies
 * count: a setting changed later does nothing, so the limiter reads the router too.
 */
function routingOf(app: Application | undefined): Routing {
  if (app === undefined) return FOLDING_ROUTING
  let routing = routings.get(app)
  if (routing === undefined) {
    const router = ((app as { _router?: unknown })._router ?? (app as { router?: unknown }).router) as
      | { caseSensitive?: boolean; strict?: boolean }
      | undefined
    routing = Object.freeze({
      caseSensitive: router?.caseSensitive ?? app.enabled('case sensitive routing'),
      ignoreTrailingSlash: !(router?.strict ?? app.enabled('strict routing')),
      ignoreDuplicateSlashes: false,
    })
    routings.set(app, routing)
  }
  return routing
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
