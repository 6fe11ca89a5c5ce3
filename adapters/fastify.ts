import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Decision } from '../src/decision'
import type { Limiter } from '../src/limiter'
import { MAX_LIMITER_NAME_LENGTH } from '../src/limiter-name'
import { type DianaMetrics, type DianaMetricsOptions, dianaMetrics } from '../src/metrics/index'
import { isStore } from '../src/stores/create-store'
import { type Binding, Gate } from './core/gate'
import { LOWERCASE_HEADERS } from './core/headers'
import { type AdapterHooks, type AdapterOptions, HOOK_NAMES, type LimiterSource } from './core/options'
import { PROBLEM_JSON } from './core/problem'
import { fastifyRouting as routingOf, targetPath } from './core/resource-path'

export type { HeaderStyle, ResponseOptions, RoutingOptions } from './core/options'

/** Options of the Fastify plugin: a limiter (or its options) plus the adapter hooks. */
export type DianaFastifyOptions = AdapterOptions<FastifyRequest, FastifyReply> & {
  /**
   * Reports the plugin's limiter and every limiter it builds for a route (`config.diana` with
   * `rules` or `config`) to Prometheus, as `dianaMetrics` (from `diana-limiter/metrics`, which
   * needs prom-client) with these options; each under its own `limiter` label: the plugin's
   * `name` (default 'default'), and for a route, its `name` or `<plugin name>:<METHOD> <url>`.
   * Stopped when the app closes.
   * @default no metrics
   */
  metrics?: Omit<DianaMetricsOptions, 'name'>
}

/**
 * A route's own settings, under `config.diana`: `false` exempts the route; an object is merged
 * over the plugin's options. With `rules` (or `limiter`) the route gets its own limiter, and
 * so its own counters; with hooks only, it shares the plugin's limiter.
 */
export type DianaRouteConfig =
  | false
  | (Partial<AdapterHooks<FastifyRequest, FastifyReply>> &
      Partial<Exclude<LimiterSource, { limiter: Limiter }>>)
  | (Partial<AdapterHooks<FastifyRequest, FastifyReply>> & { limiter: Limiter })

declare module 'fastify' {
  interface FastifyInstance {
    /** The limiter the diana-limiter plugin uses (for metrics, or to share). */
    dianaLimiter: Limiter
  }
  interface FastifyContextConfig {
    diana?: DianaRouteConfig
  }
  interface FastifyRequest {
    /**
     * The diana-limiter decision for this request (also on a denied one, for `onLimited`);
     * null where the plugin did not check it (an exempt route, a skipped request).
     */
    rateLimit: Decision | null
  }
}

// Marks a request once checked, as registering the plugin in two scopes must not count it twice
// (as in @fastify/rate-limit). The mark is the route pattern when known, already canonical
// (worked out when the route was declared: `request.routeOptions` builds a new object on every
// read, which a per-request limiter should not pay for, and the pattern's spelling is fixed),
// else true: a 404, counted by its path.
const kDiana = Symbol('diana-limiter.checked')

type Marked = FastifyRequest & { [kDiana]?: string | true }
type Done = (error?: Error) => void

const binding: Binding<FastifyRequest, FastifyReply> = {
  // `request.ip` follows the `trustProxy` server option; X-Forwarded-For counts only when trusted.
  clientIp: (request) => request.ip,
  header: (request, name) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  },
  canonicalRoute: (request) => {
    const mark = (request as Marked)[kDiana]
    return typeof mark === 'string' ? mark : undefined
  },
  route: () => undefined,
  path: (request) => targetPath(request.url),
  routing: (request) => routingOf(request.server.initialConfig),
  method: (request) => request.method,
  attach: (request, decision) => {
    request.rateLimit = decision
  },
  proxySetting: 'Fastify: the trustProxy server option',
  setHeader: (reply, name, value) => {
    // Fastify lowercases every header name it is given; handing it the lowercase name spares
    // a new string per header per request.
    reply.header(LOWERCASE_HEADERS[name] ?? name, value)
  },
  responded: (reply) => reply.sent,
  sendProblem: (reply, status, body) => {
    reply.code(status).type(PROBLEM_JSON).send(body)
  },
  raw: (reply) => reply.raw,
}

const WHERE = 'diana-limiter/fastify'

const dianaPlugin: FastifyPluginAsync<DianaFastifyOptions> = async (fastify, allOptions) => {
  const { metrics: metricsOptions, ...options } = allOptions ?? ({} as DianaFastifyOptions)
  const gate = new Gate(options, binding, WHERE, fastify.log)
  const gates: Gate<FastifyRequest, FastifyReply>[] = [gate]
  checkMetricsOptions(metricsOptions)
  const reporters: DianaMetrics[] = []
  const report = (limiter: Limiter) => {
    if (metricsOptions !== undefined) reporters.push(dianaMetrics(limiter, metricsOptions))
  }
  report(gate.limiter)
  const routeGates = new WeakMap<object, Gate<FastifyRequest, FastifyReply>>()
  // `atStartup`: the route is being declared, and a problem should stop the app from starting;
  // otherwise a request is waiting, and metrics that cannot be set up must not fail it.
  const routeGate = (
    config: object,
    route: RouteId,
    atStartup: boolean,
  ): Gate<FastifyRequest, FastifyReply> => {
    let found = routeGates.get(config)
    if (found === undefined) {
      const own = routeOptions(options, config, gate.limiter, routeLimiterName(gate.limiter.name, route))
      found = new Gate(own.options, binding, `${WHERE} (route)`, fastify.log)
      routeGates.set(config, found)
      gates.push(found)
      if (own.builds) {
        try {
          report(found.limiter)
        } catch (error) {
          if (atStartup) throw error
          fastify.log.warn(
            `${WHERE}: no metrics for route limiter "${found.limiter.name}": ${(error as Error).message}`,
          )
        }
      }
    }
    return found
  }

  const framework = routingOf(fastify.initialConfig)
  fastify.decorate('dianaLimiter', gate.limiter)
  // Declared up front, so that setting it per request keeps the request object's shape.
  if (!fastify.hasRequestDecorator('rateLimit')) fastify.decorateRequest('rateLimit', null)
  // Each route gets its own onRequest hook, after the route's own ones (so `identify` can read
  // what an authentication hook found), bound to its gate and its pattern in canonical spelling
  // (worked out here, once per route): the request path then does no lookups and no decoding.
  // Per-route gates are built here, so a bad per-route rule fails at startup.
  fastify.addHook('onRoute', (route) => {
    const config = route.config?.diana
    if (config === false) return
    const target = config === undefined ? gate : routeGate(checkRouteConfig(config), route, true)
    const pattern = target.canonical(route.url, framework)
    const hook = (request: Marked, reply: FastifyReply, done: Done) => {
      run(target, request, reply, done, pattern)
    }
    const existing = route.onRequest
    route.onRequest = (existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]).concat(
      hook as never,
    )
  })
  // Routes declared before the plugin had loaded (`app.register(diana)` without `await`) and
  // requests that match no route (404s) have no hook of their own: they are checked here,
  // after every onRequest hook, with the pattern read from `request.routeOptions`.
  fastify.addHook('preParsing', (request: Marked, reply, _payload, done) => {
    if (request[kDiana] !== undefined) {
      done()
      return
    }
    const route = request.routeOptions
    const config = route?.config?.diana
    if (config === false) {
      done()
      return
    }
    const target = config === undefined ? gate : routeGate(checkRouteConfig(config), route ?? {}, false)
    const url = route?.url
    run(
      target,
      request,
      reply,
      done as Done,
      url === undefined ? undefined : target.canonical(url, framework),
    )
  })
  fastify.addHook('onClose', async () => {
    for (const reporter of reporters) reporter.stop()
    await Promise.all(gates.map((g) => g.close()))
  })
}

/**
 * Callback-style hook body: a request the gate decides at once goes on in the same tick, with
 * no promise for Fastify to wait on.
 */
function run(
  gate: Gate<FastifyRequest, FastifyReply>,
  request: Marked,
  reply: FastifyReply,
  done: Done,
  pattern: string | undefined,
): void {
  if (request[kDiana] !== undefined) {
    done()
    return
  }
  request[kDiana] = pattern ?? true
  gate.handleThen(request, reply, done, stop, done)
}

/**
 * Answered (a hook that sent a reply must not call done), or the client left while the request
 * was held: the lifecycle stops here.
 */
function stop(reply: FastifyReply): void {
  if (!reply.sent) reply.hijack()
}

function checkMetricsOptions(metrics: unknown): void {
  if (metrics === undefined) return
  if (metrics === null || typeof metrics !== 'object') {
    throw new TypeError(`${WHERE}: metrics must be an object such as { registry }`)
  }
  if ('name' in metrics) {
    throw new TypeError(
      `${WHERE}: metrics.name is not taken here: each limiter reports under its own name; name the plugin's limiter with the plugin option name`,
    )
  }
}

function checkRouteConfig(config: unknown): object {
  if (config === null || typeof config !== 'object') {
    throw new TypeError(`${WHERE}: route config.diana must be false or an options object`)
  }
  return config
}

/** What names a route: its method(s) and URL pattern. */
interface RouteId {
  method?: string | readonly string[] | undefined
  url?: string | undefined
}

/**
 * `<plugin limiter name>:<METHOD> <url>`, the name of a limiter built for a route, so its
 * metrics are told apart from the plugin's and other routes'. Percent-encoded and cut to
 * fit a limiter name: a route pattern may hold any character and be of any length.
 */
function routeLimiterName(base: string, route: RouteId): string {
  const method = Array.isArray(route.method) ? route.method.join(',') : (route.method ?? '')
  const name = `${base}:${method} ${encodeURI(route.url ?? '')}`
  return name.slice(0, MAX_LIMITER_NAME_LENGTH).trimEnd()
}

/**
 * The plugin's options with a route's overrides on top, and whether they build a limiter of
 * the route's own.
 */
function routeOptions(
  options: DianaFastifyOptions,
  config: object,
  shared: Limiter,
  name: string,
): { options: DianaFastifyOptions; builds: boolean } {
  const hooks: Record<string, unknown> = {}
  for (const hook of HOOK_NAMES) if (hook in options) hooks[hook] = options[hook]
  const own = config as Record<string, unknown>
  if (!('rules' in own) && !('config' in own) && !('limiter' in own)) {
    return { options: { ...hooks, ...own, limiter: shared } as unknown as DianaFastifyOptions, builds: false }
  }
  if ('limiter' in own)
    return { options: { ...hooks, ...own } as unknown as DianaFastifyOptions, builds: false }
  // A new limiter for this route, on the same kind of store and clock as the plugin's.
  const base = options as { store?: unknown; clock?: unknown }
  const inherited: Record<string, unknown> = { name }
  if (base.clock !== undefined) inherited.clock = base.clock
  if (base.store !== undefined && !isStore(base.store)) inherited.store = base.store
  return { options: { ...hooks, ...inherited, ...own } as unknown as DianaFastifyOptions, builds: true }
}

/**
 * The Fastify plugin (Fastify 4 and 5): `app.register(diana, options)`. It limits every route
 * of the app; per route, `config: { diana: false }` exempts it and `config: { diana: {...} }`
 * overrides options (see {@link DianaRouteConfig}).
 */
const diana = fp(dianaPlugin, { name: 'diana-limiter', fastify: '4.x || 5.x' })

export default diana
export type { FastifyInstance }
export { diana }
