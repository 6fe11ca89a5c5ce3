import type { Server } from 'node:http'
import { HTTP_PEERS, type HttpVariant } from './http-contenders'
import { importOptional, interop } from './optional-module'
import type { Framework } from './options'
import { BENCH_LIMIT, benchRules } from './quota'
import { type FromServer, reportUsage } from './server-process'

const WINDOW_MS = 60_000

const deviceOf = (headers: Record<string, string | string[] | undefined>, ip: string | undefined) => {
  const value = headers['x-device-id']
  return (Array.isArray(value) ? value[0] : value) ?? ip ?? 'unknown'
}

/**
 * The server process of `diana bench http`: one app on a free loopback port, reporting its
 * own CPU time per request between the benchmark's `start` and `stop` messages, so the load
 * generator's CPU (which shares the machine) is never counted.
 */
export async function serve(args: string[]): Promise<number> {
  const [framework, variant, algorithm] = args as [Framework, HttpVariant, string]
  const send = (message: FromServer) => process.send?.(message)
  if (!process.send) {
    process.stderr.write('diana bench: the HTTP server process must be started by "diana bench http"\n')
    return 2
  }
  let server: Server
  try {
    server = await listen(framework, variant, algorithm)
  } catch (error) {
    send({ type: 'error', message: (error as Error).message })
    return 1
  }
  reportUsage(server, send)
  const address = server.address()
  send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 })
  return new Promise<number>(() => {})
}

async function listen(framework: Framework, variant: HttpVariant, algorithm: string): Promise<Server> {
  const rules = benchRules(algorithm, 1, 'device')
  const purpose = `diana bench http --framework ${framework}`
  const diana = async <T>() =>
    interop(await importOptional<T | { default: T }>(`diana-limiter/${framework}`, purpose))
  const peer = async <T>() =>
    interop(await importOptional<T | { default: T }>(HTTP_PEERS[framework], `${purpose} --compare`))
  const hello = { hello: 'world' }

  if (framework === 'express') {
    type Handler = (req: unknown, res: unknown, next: () => void) => void
    type App = {
      use(h: Handler): void
      get(path: string, h: Handler): void
      listen(port: number, host: string, cb: () => void): Server
    }
    const express = interop(await importOptional<(() => App) | { default: () => App }>('express', purpose))
    const app = express()
    if (variant === 'diana') app.use((await diana<(o: unknown) => Handler>())({ rules }))
    if (variant === 'peer') {
      const rateLimit = await peer<(o: unknown) => Handler>()
      app.use(
        rateLimit({
          windowMs: WINDOW_MS,
          limit: BENCH_LIMIT,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          keyGenerator: (req: { headers: Record<string, string>; ip?: string }) =>
            deviceOf(req.headers, req.ip),
          validate: false,
        }),
      )
    }
    app.get('/hello', (_req, res) => (res as { json(body: unknown): void }).json(hello))
    return new Promise((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server))
    })
  }

  if (framework === 'fastify') {
    type App = {
      register(plugin: unknown, options: unknown): Promise<unknown>
      get(path: string, handler: () => Promise<unknown>): void
      listen(options: { port: number; host: string }): Promise<string>
      server: Server
    }
    const Fastify = interop(
      await importOptional<((o?: unknown) => App) | { default: (o?: unknown) => App }>('fastify', purpose),
    )
    const app = Fastify({ logger: false })
    if (variant === 'diana') await app.register(await diana<unknown>(), { rules })
    if (variant === 'peer') {
      await app.register(await peer<unknown>(), {
        max: BENCH_LIMIT,
        timeWindow: WINDOW_MS,
        keyGenerator: (req: { headers: Record<string, string>; ip?: string }) =>
          deviceOf(req.headers, req.ip),
      })
    }
    app.get('/hello', async () => hello)
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app.server
  }

  type Context = { path: string; body: unknown; ip: string; headers: Record<string, string> }
  type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void> | void
  type App = { use(m: Middleware): void; listen(port: number, host: string, cb: () => void): Server }
  const Koa = interop(await importOptional<(new () => App) | { default: new () => App }>('koa', purpose))
  const app = new Koa()
  if (variant === 'diana') app.use((await diana<(o: unknown) => Middleware>())({ rules }))
  if (variant === 'peer') {
    const ratelimit = await peer<(o: unknown) => Middleware>()
    app.use(
      ratelimit({
        driver: 'memory',
        db: new Map(),
        duration: WINDOW_MS,
        max: BENCH_LIMIT,
        id: (ctx: Context) => deviceOf(ctx.headers, ctx.ip),
      }),
    )
  }
  app.use((ctx) => {
    if (ctx.path === '/hello') ctx.body = hello
  })
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server))
  })
}
