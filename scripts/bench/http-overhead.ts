/**
 * Server CPU per request that a limiter adds to an HTTP app: Diana with four applicable rules
 * against each framework's usual limiter with one rule, in the same run.
 *
 *   npx tsx scripts/bench/http-overhead.ts [--rounds 15] [--requests 30000] [--connections 16]
 *                                  [--frameworks express,fastify,koa,hono,nestjs-express,nestjs-fastify]
 *                                  [--json]
 *
 * Hono (on @hono/node-server) runs bare and with Diana only: its usual limiter,
 * hono-rate-limiter, is not a dependency of this repository, so there is no peer to compare.
 *
 * The three servers of a framework (bare, Diana, peer) run side by side, each in its own process
 * (tsx, from source), and take turns: each round sends `--requests` requests to each of them in
 * turn, in an order that rotates every round, while the others idle. Each server measures its
 * own CPU time (process.cpuUsage) while it is being loaded, so the load generator (autocannon, in
 * this process, sharing the machine's cores) is never counted. Short turns matter on a shared
 * machine: its speed drifts over seconds, and a limiter's few µs are only seen against the bare
 * app measured moments apart. The added cost is taken per round against the bare app of the same
 * round; the median over rounds is reported with its min-max, and so is Diana's cost minus the
 * peer's, paired by round, with a 95% confidence interval of its median.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Context, Middleware } from 'koa'
import { HTTP_PEERS, type HttpVariant } from '../../bench/http-contenders'
import type { Framework as HttpFramework } from '../../bench/options'
import { BENCH_LIMIT } from '../../bench/quota'
import { medianInterval, spread } from '../../bench/sampling'
import {
  type FromServer,
  reportUsage,
  type ServerProcess,
  startServerProcess,
} from '../../bench/server-process'
import type { Rule } from '../../src/rules/rule'
import { NEST_PEER, NEST_PLATFORMS, type NestPlatform, nestApp } from './http-overhead-nestjs'

/**
 * The frameworks of `diana bench http`, Hono, which only this script measures (no peer), and
 * NestJS on its two platforms (@nestjs/throttler).
 */
type Framework = HttpFramework | 'hono' | NestPlatform
const PEERS = {
  ...HTTP_PEERS,
  hono: undefined,
  ...Object.fromEntries(NEST_PLATFORMS.map((platform) => [platform, NEST_PEER])),
} as Record<Framework, string | undefined>
const isNest = (framework: Framework): framework is NestPlatform =>
  (NEST_PLATFORMS as readonly string[]).includes(framework)

// Packages without type declarations; a variable name keeps the compiler from looking for them.
const importUntyped = (name: string): Promise<{ default: unknown }> => import(name)
type Autocannon = (
  options: Record<string, unknown>,
) => Promise<{ requests: { average: number }; non2xx: number }>

export const FOUR_RULES: Rule[] = [
  { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: BENCH_LIMIT, window: '1s' },
  { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: BENCH_LIMIT, window: '1m' },
  { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: BENCH_LIMIT, window: '10s' },
  {
    name: 'route',
    dimension: ['device', 'resource'],
    algorithm: 'fixed-window',
    limit: BENCH_LIMIT,
    window: '1m',
  },
]
const DEVICES = 1000

// ---------------------------------------------------------------- server process

async function serve(framework: Framework, variant: HttpVariant): Promise<void> {
  const server = isNest(framework)
    ? await nestApp(framework, variant, FOUR_RULES, deviceOf)
    : await app(framework, variant)
  const send = (message: FromServer) => process.send?.(message)
  reportUsage(server, send)
  send({ type: 'ready', port: (server.address() as AddressInfo).port })
}

const deviceOf = (headers: Record<string, string | string[] | undefined>, ip: string | undefined) =>
  (headers['x-device-id'] as string | undefined) ?? ip ?? ''

async function app(framework: Exclude<Framework, NestPlatform>, variant: HttpVariant): Promise<Server> {
  const body = { hello: 'world' }
  if (framework === 'express') {
    const express = (await import('express')).default
    const application = express()
    if (variant === 'diana') {
      const { diana } = await import('../../adapters/express')
      application.use(diana({ rules: FOUR_RULES, identify: (req) => req.get('x-account') }))
    } else if (variant === 'peer') {
      const { rateLimit } = await import('express-rate-limit')
      application.use(
        rateLimit({
          windowMs: 60_000,
          limit: BENCH_LIMIT,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          keyGenerator: (req) => deviceOf(req.headers, req.ip),
          validate: false,
        }),
      )
    }
    application.get('/items/:id', (_req, res) => {
      res.json(body)
    })
    return listen(createServer(application))
  }
  if (framework === 'fastify') {
    const fastify = (await import('fastify')).default
    const application = fastify({ logger: false })
    if (variant === 'diana') {
      const diana = (await import('../../adapters/fastify')).default
      await application.register(diana, {
        rules: FOUR_RULES,
        identify: (request) => request.headers['x-account'] as string | undefined,
      })
    } else if (variant === 'peer') {
      const rateLimit = (await import('@fastify/rate-limit')).default
      await application.register(rateLimit, {
        max: BENCH_LIMIT,
        timeWindow: 60_000,
        keyGenerator: (request) => deviceOf(request.headers, request.ip),
      })
    }
    application.get('/items/:id', async () => body)
    await application.listen({ port: 0, host: '127.0.0.1' })
    return application.server
  }
  if (framework === 'hono') {
    const { Hono } = await import('hono')
    const { createAdaptorServer } = await import('@hono/node-server')
    const application = new Hono()
    if (variant === 'diana') {
      const { diana } = await import('../../adapters/hono')
      application.use(diana({ rules: FOUR_RULES, identify: (c) => c.req.header('x-account') }))
    }
    application.get('/items/:id', (c) => c.json(body))
    return listen(createAdaptorServer({ fetch: application.fetch }) as Server)
  }
  const Koa = (await import('koa')).default
  const Router = (await import('@koa/router')).default
  const application = new Koa()
  const router = new Router()
  // Both limiters app-wide (before the router), the way a Koa app mounts one.
  if (variant === 'diana') {
    const { diana } = await import('../../adapters/koa')
    application.use(diana({ rules: FOUR_RULES, identify: (ctx) => ctx.get('x-account') || undefined }))
  } else if (variant === 'peer') {
    const ratelimit = (await importUntyped('koa-ratelimit')).default as (o: unknown) => Middleware
    application.use(
      ratelimit({
        driver: 'memory',
        db: new Map(),
        duration: 60_000,
        max: BENCH_LIMIT,
        id: (ctx: Context) => deviceOf(ctx.headers, ctx.ip),
      }),
    )
  }
  router.get('/items/:id', (ctx) => {
    ctx.body = body
  })
  application.use(router.routes())
  return listen(createServer(application.callback()))
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

// ---------------------------------------------------------------- load generator

interface Sample {
  cpuUsPerRequest: number
  requestsPerSecond: number
  non2xx: number
}

async function load(port: number, requests: number, connections: number): Promise<{ non2xx: number }> {
  const autocannon = (await importUntyped('autocannon')).default as Autocannon
  let n = 0
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    amount: requests,
    requests: [
      {
        method: 'GET',
        // Rotating devices and accounts, so the limiter touches many keys, as in production.
        setupRequest: (request: Record<string, unknown>) => {
          n = (n + 1) % DEVICES
          return {
            ...request,
            path: `/items/${n % 50}`,
            headers: { 'x-device-id': `device-${n}`, 'x-account': `account-${n % 200}` },
          }
        },
      },
    ],
  })
  return { non2xx: result.non2xx }
}

function startServer(framework: Framework, variant: HttpVariant): Promise<ServerProcess> {
  return startServerProcess(
    `the ${framework} server (${variant})`,
    fileURLToPath(import.meta.url),
    ['serve', framework, variant],
    // NestJS 12 is ESM only, and @nestjs/throttler requires it from CommonJS: under tsx's
    // CommonJS hook that require would load a second copy of @nestjs/core (whose Reflector the
    // app's injector does not know). With the ESM hook alone, Node's own require(esm) shares one.
    { execArgv: ['--import', isNest(framework) ? 'tsx/esm' : 'tsx'], stdout: 'inherit' },
  )
}

/** One turn: `requests` requests to this server, with its own CPU time measured meanwhile. */
async function turn(server: ServerProcess, requests: number, connections: number): Promise<Sample> {
  server.start()
  const started = performance.now()
  const { non2xx } = await load(server.port, requests, connections)
  const seconds = (performance.now() - started) / 1000
  const usage = await server.stop()
  return { cpuUsPerRequest: usage.cpuUs / usage.requests, requestsPerSecond: requests / seconds, non2xx }
}

const round1 = (x: number) => Math.round(x * 10) / 10

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '15' },
      requests: { type: 'string', default: '30000' },
      connections: { type: 'string', default: '16' },
      frameworks: { type: 'string', default: 'express,fastify,koa,hono,nestjs-express,nestjs-fastify' },
      json: { type: 'boolean', default: false },
    },
  })
  const rounds = Number(values.rounds)
  const requests = Number(values.requests)
  const connections = Number(values.connections)
  const frameworks = values.frameworks.split(',') as Framework[]
  const results: Record<string, Sample[]> = {}
  for (const framework of frameworks) {
    const variants: HttpVariant[] =
      PEERS[framework] === undefined ? ['none', 'diana'] : ['none', 'diana', 'peer']
    const servers = new Map<HttpVariant, ServerProcess>()
    try {
      for (const variant of variants) servers.set(variant, await startServer(framework, variant))
      // Warm-up: JIT and caches, not measured.
      for (const variant of variants) await turn(servers.get(variant) as ServerProcess, requests, connections)
      for (let round = 1; round <= rounds; round++) {
        // The order rotates each round, so no scenario always runs first (or right after another).
        const order = variants.map((_, i) => variants[(i + round) % variants.length] as HttpVariant)
        for (const variant of order) {
          const s = await turn(servers.get(variant) as ServerProcess, requests, connections)
          const key = `${framework}/${variant}`
          results[key] = [...(results[key] ?? []), s]
          process.stderr.write(
            `round ${round}/${rounds} ${framework}/${variant}: ${round1(s.cpuUsPerRequest)} µs CPU/req, ${Math.round(s.requestsPerSecond)} req/s${s.non2xx ? `, ${s.non2xx} non-2xx` : ''}\n`,
          )
        }
      }
    } finally {
      for (const server of servers.values()) server.kill()
    }
  }
  const report = frameworks.map((framework) => {
    const base = results[`${framework}/none`] as Sample[]
    const added = (variant: HttpVariant) => {
      const diffs = (results[`${framework}/${variant}`] as Sample[]).map(
        (s, i) => s.cpuUsPerRequest - (base[i] as Sample).cpuUsPerRequest,
      )
      return {
        median: round1(spread(diffs).median),
        min: round1(Math.min(...diffs)),
        max: round1(Math.max(...diffs)),
      }
    }
    const diana = added('diana')
    const peerName = PEERS[framework]
    const common = {
      framework,
      baseCpuUsPerRequest: round1(spread(base.map((s) => s.cpuUsPerRequest)).median),
      dianaAddedUs: diana,
      dianaRules: FOUR_RULES.length,
    }
    if (peerName === undefined) return { ...common, peer: undefined }
    const peer = added('peer')
    // Diana's cost minus the peer's, round by round: both were measured moments apart, so
    // this cancels the machine's drift that the two medians above each carry.
    const paired = (results[`${framework}/diana`] as Sample[]).map(
      (s, i) => s.cpuUsPerRequest - ((results[`${framework}/peer`] as Sample[])[i] as Sample).cpuUsPerRequest,
    )
    const [low, high] = medianInterval(paired)
    return {
      ...common,
      peer: peerName,
      peerAddedUs: peer,
      dianaMinusPeerUs: { median: round1(spread(paired).median), low: round1(low), high: round1(high) },
      ratio: Number((diana.median / peer.median).toFixed(2)),
      peerRules: 1,
    }
  })
  if (values.json) {
    for (const row of report) process.stdout.write(`${JSON.stringify(row)}\n`)
    return
  }
  process.stdout.write(
    `Node ${process.version}; ${rounds} rounds of ${requests} requests per server, ${connections} connections; µs of server CPU per request\n`,
  )
  for (const row of report) {
    if (row.peer === undefined) {
      process.stdout.write(
        `${row.framework.padEnd(8)} bare ${row.baseCpuUsPerRequest} | Diana (4 rules) +${row.dianaAddedUs.median} [${row.dianaAddedUs.min}..${row.dianaAddedUs.max}] | no peer measured\n`,
      )
      continue
    }
    process.stdout.write(
      `${row.framework.padEnd(14)} bare ${row.baseCpuUsPerRequest} | Diana (4 rules) +${row.dianaAddedUs.median} [${row.dianaAddedUs.min}..${row.dianaAddedUs.max}] | ${row.peer} (1 rule) +${row.peerAddedUs.median} [${row.peerAddedUs.min}..${row.peerAddedUs.max}] | ratio ${row.ratio} | Diana - peer, paired by round: ${row.dianaMinusPeerUs.median} (95% CI ${row.dianaMinusPeerUs.low}..${row.dianaMinusPeerUs.high})\n`,
    )
  }
}

// Run only as a script (not when imported, e.g. for FOUR_RULES).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === 'serve') await serve(process.argv[3] as Framework, process.argv[4] as HttpVariant)
  else await main()
}
