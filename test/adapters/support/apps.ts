import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Router from '@koa/router'
import express, { type RequestHandler } from 'express'
import express4 from 'express4'
import fastify, { type FastifyRequest } from 'fastify'
import fastify4 from 'fastify4'
import Koa from 'koa'
import koa2 from 'koa2'
import { afterEach } from 'vitest'
import { diana as dianaExpress } from '../../../adapters/express'
import dianaFastify from '../../../adapters/fastify'
import { diana as dianaKoa } from '../../../adapters/koa'
import type { Decision } from '../../../src/decision'
import type { Limiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import { thenable } from '../../support/thenable'
import { honoFramework } from './apps-hono'
import { nestFramework } from './apps-nestjs'

/**
 * One test app, built alike in every framework: the same routes, the same limiter options and
 * the same hooks written against each framework's request object.
 *
 * Routes: GET /items/:id, POST /api/seckill/:sku (mounted under /api), GET /health,
 * GET /decision (answers with the decision the handler finds on the request, as JSON, or
 * `null`), GET /status/:code (answers with that status), GET /hang (answers once
 * {@link AppSpec.held} settles), GET /boom (the handler throws), and GET /special, which has its own rules (per-route override) when `special` is given.
 */
export interface AppSpec {
  /** Adapter options shared by all frameworks (rules, limiter, store, clock, response, ...). */
  options: Record<string, unknown>
  /** identify(req) = the `x-account` header (unverified: fine for a test, not for production). */
  identifyByHeader?: boolean
  /**
   * identifyDevice(req) = this header's value (as an app would read a verified cookie);
   * `async` answers through a promise. A value `throw` makes the hook throw.
   */
  identifyDeviceByHeader?: { header: string; async?: boolean }
  /**
   * skip(req) = the request has an `x-skip` header; `thenable` answers through a bare thenable
   * (an object with a `then` method, as some promise libraries return), not a `Promise`.
   */
  skipByHeader?: boolean | 'thenable'
  /**
   * onLimited answers 418 with the text `slow down <rule>`, followed by ` (on the request)`
   * when the decision it is given is the one on the request.
   */
  customLimited?: boolean
  /** GET /hang answers `done` only once this settles (forever when not given). */
  held?: Promise<unknown>
  /**
   * prioritize(req) = the `x-priority` header as it comes (hostile values included, for the
   * adapter to refuse); the value `throw` makes the hook throw.
   */
  prioritizeByHeader?: boolean
  /** Rules of GET /special, which then is limited by these only. */
  special?: Rule[]
  /** Trust X-Forwarded-For (each framework's own setting). */
  trustProxy?: boolean
  /**
   * Mount the limiter once for the whole app, before routing (Express `app.use`, Koa
   * `app.use`), so it sees paths rather than route patterns. Fastify's plugin is app-wide anyway.
   */
  appWide?: boolean
  /** The framework's own routing settings (Express 'case sensitive routing' / 'strict routing',
   * Fastify `caseSensitive` / `ignoreTrailingSlash`, @koa/router `sensitive` / `strict`). */
  caseSensitive?: boolean
  strict?: boolean
  /** Listen on this Unix socket instead of a loopback port (`url` is then `unix:<path>`). */
  socketPath?: string
}

export interface RunningApp {
  url: string
  /** The limiter the app-wide adapter uses (built by it, or the one passed in). */
  limiter: Limiter
  /** Requests that reached a handler, per route. */
  hits: Map<string, number>
  close(): Promise<void>
}

export interface Framework {
  name: string
  start(spec: AppSpec): Promise<RunningApp>
}

type Hit = (route: string) => void

function deviceName(spec: AppSpec): string {
  return spec.identifyDeviceByHeader?.header ?? ''
}

/** The skip hook of {@link AppSpec.skipByHeader}, over a test for the header. */
function skipHook<Req>(
  how: AppSpec['skipByHeader'],
  present: (req: Req) => boolean,
): (req: Req) => boolean | PromiseLike<boolean> {
  if (how !== 'thenable') return present
  return (req) => thenable(present(req))
}

/** The identifyDevice hook of {@link AppSpec.identifyDeviceByHeader}, over a header reader. */
function deviceHook<Req>(
  how: { async?: boolean },
  read: (req: Req) => string | undefined,
): (req: Req) => string | undefined | Promise<string | undefined> {
  return (req) => {
    const value = read(req) || undefined
    if (value === 'throw') throw new Error('device hook failed')
    return how.async ? Promise.resolve(value) : value
  }
}

/** The prioritize hook of {@link AppSpec.prioritizeByHeader}, over a header reader. */
function priorityHook<Req>(read: (req: Req) => string | undefined): (req: Req) => 'normal' | undefined {
  return (req) => {
    const value = read(req) || undefined
    if (value === 'throw') throw new Error('priority hook failed')
    // Passed on unchecked, as a careless app would: the adapter must cope with any value.
    return value as 'normal' | undefined
  }
}

const forever = new Promise<never>(() => {})

function onRequest(onTheRequest: Decision | null | undefined, given: Decision): string {
  return onTheRequest === given ? ' (on the request)' : ''
}

function counter(): { hits: Map<string, number>; hit: Hit } {
  const hits = new Map<string, number>()
  return { hits, hit: (route) => hits.set(route, (hits.get(route) ?? 0) + 1) }
}

async function listen(server: Server, socketPath?: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    if (socketPath !== undefined) server.listen(socketPath, () => resolve())
    else server.listen(0, '127.0.0.1', () => resolve())
  })
  return socketPath !== undefined
    ? `unix:${socketPath}`
    : `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

function expressFramework(name: string, expressModule: typeof express): Framework {
  return {
    name,
    async start(spec) {
      const { hits, hit } = counter()
      const app = expressModule()
      if (spec.trustProxy) app.set('trust proxy', true)
      if (spec.caseSensitive !== undefined) app.set('case sensitive routing', spec.caseSensitive)
      if (spec.strict !== undefined) app.set('strict routing', spec.strict)
      const mounted = dianaExpress({
        ...(spec.options as { rules: Rule[] }),
        ...(spec.identifyByHeader ? { identify: (req) => req.get('x-account') || undefined } : {}),
        ...(spec.prioritizeByHeader
          ? { prioritize: priorityHook((req: express.Request) => req.get('x-priority')) }
          : {}),
        ...(spec.identifyDeviceByHeader
          ? {
              identifyDevice: deviceHook(spec.identifyDeviceByHeader, (req: express.Request) =>
                req.get(deviceName(spec)),
              ),
            }
          : {}),
        ...(spec.skipByHeader
          ? { skip: skipHook(spec.skipByHeader, (req: express.Request) => req.get('x-skip') !== undefined) }
          : {}),
        ...(spec.customLimited
          ? {
              onLimited: (req, res, d: Decision) =>
                res
                  .status(418)
                  .type('text/plain')
                  .send(`slow down ${d.rule}${onRequest(req.rateLimit, d)}`),
            }
          : {}),
      })
      if (spec.appWide) app.use(mounted)
      const pass: RequestHandler = (_req, _res, next) => next()
      // Route-level middleware, so Express has matched the route pattern when Diana runs.
      const limit = spec.appWide ? pass : mounted
      if (spec.special) {
        const special = dianaExpress({ rules: spec.special, clock: spec.options.clock as () => number })
        app.get('/special', special, (_req, res) => {
          hit('/special')
          res.send('special')
        })
      }
      app.get('/items/:id', limit, (_req, res) => {
        hit('/items/:id')
        res.send('item')
      })
      app.get('/health', limit, (_req, res) => {
        hit('/health')
        res.send('ok')
      })
      app.get('/hang', limit, (_req, res) => {
        hit('/hang')
        ;(spec.held ?? forever).then(() => res.send('done'))
      })
      app.get('/boom', limit, () => {
        hit('/boom')
        throw new Error('handler failed')
      })
      app.get('/status/:code', limit, (req, res) => {
        hit('/status/:code')
        res.status(Number(req.params.code)).send('status')
      })
      app.get('/decision', limit, (req, res) => {
        hit('/decision')
        res.type('application/json').send(JSON.stringify(req.rateLimit ?? null))
      })
      const api = expressModule.Router({ caseSensitive: spec.caseSensitive, strict: spec.strict })
      api.post('/seckill/:sku', limit, (_req, res) => {
        hit('/api/seckill/:sku')
        res.send('bought')
      })
      app.use('/api', api)
      const server = createServer(app)
      const url = await listen(server, spec.socketPath)
      return {
        url,
        limiter: mounted.limiter,
        hits,
        close: async () => {
          await closeServer(server)
          await mounted.close()
        },
      }
    },
  }
}

function fastifyFramework(name: string, fastifyModule: typeof fastify): Framework {
  return {
    name,
    async start(spec) {
      const { hits, hit } = counter()
      const app = fastifyModule({
        trustProxy: spec.trustProxy === true,
        ...(spec.caseSensitive !== undefined ? { caseSensitive: spec.caseSensitive } : {}),
        ...(spec.strict !== undefined ? { ignoreTrailingSlash: !spec.strict } : {}),
      })
      await app.register(dianaFastify, {
        ...(spec.options as { rules: Rule[] }),
        ...(spec.identifyByHeader
          ? { identify: (request) => (request.headers['x-account'] as string | undefined) || undefined }
          : {}),
        ...(spec.prioritizeByHeader
          ? {
              prioritize: priorityHook(
                (request: FastifyRequest) => request.headers['x-priority'] as string | undefined,
              ),
            }
          : {}),
        ...(spec.identifyDeviceByHeader
          ? {
              identifyDevice: deviceHook(
                spec.identifyDeviceByHeader,
                (request: FastifyRequest) => request.headers[deviceName(spec)] as string | undefined,
              ),
            }
          : {}),
        ...(spec.skipByHeader
          ? {
              skip: skipHook(
                spec.skipByHeader,
                (request: FastifyRequest) => request.headers['x-skip'] !== undefined,
              ),
            }
          : {}),
        ...(spec.customLimited
          ? {
              onLimited: (request, reply, d: Decision) =>
                reply
                  .code(418)
                  .type('text/plain')
                  .send(`slow down ${d.rule}${onRequest(request.rateLimit, d)}`),
            }
          : {}),
      })
      if (spec.special) {
        app.get('/special', { config: { diana: { rules: spec.special } } }, async () => {
          hit('/special')
          return 'special'
        })
      }
      app.get('/items/:id', async () => {
        hit('/items/:id')
        return 'item'
      })
      app.get('/health', async () => {
        hit('/health')
        return 'ok'
      })
      app.get('/hang', async () => {
        hit('/hang')
        await (spec.held ?? forever)
        return 'done'
      })
      app.get('/boom', async () => {
        hit('/boom')
        throw new Error('handler failed')
      })
      app.get('/status/:code', async (request, reply) => {
        hit('/status/:code')
        reply.code(Number((request.params as { code: string }).code))
        return 'status'
      })
      app.get('/decision', async (request, reply) => {
        hit('/decision')
        reply.type('application/json')
        return JSON.stringify(request.rateLimit ?? null)
      })
      await app.register(
        async (api) => {
          api.post('/seckill/:sku', async () => {
            hit('/api/seckill/:sku')
            return 'bought'
          })
        },
        { prefix: '/api' },
      )
      if (spec.socketPath !== undefined) await app.listen({ path: spec.socketPath })
      else await app.listen({ port: 0, host: '127.0.0.1' })
      return {
        url:
          spec.socketPath !== undefined
            ? `unix:${spec.socketPath}`
            : `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
        limiter: app.dianaLimiter,
        hits,
        close: async () => {
          app.server.closeAllConnections()
          await app.close()
        },
      }
    },
  }
}

function koaFramework(name: string, KoaClass: typeof Koa): Framework {
  return {
    name,
    async start(spec) {
      const { hits, hit } = counter()
      const app = new KoaClass({ proxy: spec.trustProxy === true })
      const limit = dianaKoa({
        ...(spec.options as { rules: Rule[] }),
        // App-wide, before any router, Koa has no routing settings to read: say them here.
        ...(spec.appWide && (spec.caseSensitive !== undefined || spec.strict !== undefined)
          ? {
              routing: {
                caseSensitive: spec.caseSensitive === true,
                ignoreTrailingSlash: spec.strict !== true,
              },
            }
          : {}),
        ...(spec.identifyByHeader ? { identify: (ctx) => ctx.get('x-account') || undefined } : {}),
        ...(spec.prioritizeByHeader
          ? { prioritize: priorityHook((ctx: Koa.Context) => ctx.get('x-priority')) }
          : {}),
        ...(spec.identifyDeviceByHeader
          ? {
              identifyDevice: deviceHook(
                spec.identifyDeviceByHeader,
                (ctx: Koa.Context) => ctx.get(deviceName(spec)) || undefined,
              ),
            }
          : {}),
        ...(spec.skipByHeader
          ? { skip: skipHook(spec.skipByHeader, (ctx: Koa.Context) => ctx.get('x-skip') !== '') }
          : {}),
        ...(spec.customLimited
          ? {
              onLimited: (ctx, d: Decision) => {
                ctx.status = 418
                ctx.type = 'text/plain'
                ctx.body = `slow down ${d.rule}${onRequest(ctx.state.rateLimit, d)}`
              },
            }
          : {}),
      })
      let special: ReturnType<typeof dianaKoa> | undefined
      if (spec.special) {
        // Its own router and limiter; @koa/router runs a router's middleware only on a match.
        special = dianaKoa({ rules: spec.special, clock: spec.options.clock as () => number })
        const specialRouter = new Router()
        specialRouter.use(special)
        specialRouter.get('/special', (ctx) => {
          hit('/special')
          ctx.body = 'special'
        })
        app.use(specialRouter.routes())
      }
      const routing = { sensitive: spec.caseSensitive, strict: spec.strict }
      if (spec.appWide) app.use(limit)
      const router = new Router(routing)
      // Inside the router, so the limiter sees the matched route pattern.
      if (!spec.appWide) router.use(limit)
      router.get('/items/:id', (ctx) => {
        hit('/items/:id')
        ctx.body = 'item'
      })
      router.get('/health', (ctx) => {
        hit('/health')
        ctx.body = 'ok'
      })
      router.get('/hang', async (ctx) => {
        hit('/hang')
        await (spec.held ?? forever)
        ctx.body = 'done'
      })
      router.get('/boom', () => {
        hit('/boom')
        throw new Error('handler failed')
      })
      router.get('/status/:code', (ctx) => {
        hit('/status/:code')
        ctx.status = Number(ctx.params.code)
        ctx.body = 'status'
      })
      router.get('/decision', (ctx) => {
        hit('/decision')
        ctx.type = 'application/json'
        ctx.body = JSON.stringify(ctx.state.rateLimit ?? null)
      })
      const api = new Router({ prefix: '/api', ...routing })
      // On the route itself: @koa/router skips a prefixed router's `use` middleware for another
      // case of the prefix (`/API/...`) while still running its routes.
      const onRoute = spec.appWide ? [] : [limit]
      api.post('/seckill/:sku', ...onRoute, (ctx) => {
        hit('/api/seckill/:sku')
        ctx.body = 'bought'
      })
      app.use(router.routes())
      app.use(api.routes())
      const server = createServer(app.callback())
      const url = await listen(server, spec.socketPath)
      return {
        url,
        limiter: limit.limiter,
        hits,
        close: async () => {
          await closeServer(server)
          await limit.close()
          await special?.close()
        },
      }
    },
  }
}

export const frameworks: Framework[] = [
  expressFramework('express 4', express4),
  expressFramework('express 5', express),
  fastifyFramework('fastify 4', fastify4 as unknown as typeof fastify),
  fastifyFramework('fastify 5', fastify),
  koaFramework('koa 2', koa2),
  koaFramework('koa 3', Koa),
  honoFramework('hono 4'),
  nestFramework('nestjs 12 express', 'express'),
  nestFramework('nestjs 12 fastify', 'fastify'),
]

/**
 * `start(spec)` for the tests of one framework: each test's last app is closed after it, so a
 * failing assertion never leaves a server listening.
 */
export function startsApps(framework: Framework): (spec: AppSpec) => Promise<RunningApp> {
  let app: RunningApp | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })
  return async (spec) => {
    app = await framework.start(spec)
    return app
  }
}
