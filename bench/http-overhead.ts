/**
 * Server CPU per request that a limiter adds to an HTTP app: Diana with four applicable rules
 * against each framework's usual limiter with one rule, in the same run.
 *
 *   npx tsx bench/http-overhead.ts [--rounds 5] [--seconds 4] [--connections 16] [--json]
 *
 * Each scenario runs in its own server process (tsx, from source). The server measures its own
 * CPU time (process.cpuUsage) between "start" and "stop", so the load generator (autocannon, in
 * this process, sharing the machine's cores) is never counted. Scenarios are interleaved round
 * by round, in an order that rotates each round, and the added cost is taken against the bare
 * app of the same round; the median over rounds is reported with its min-max.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Context, Middleware } from 'koa'
import type { Rule } from '../src/types'

// Packages without type declarations; a variable name keeps the compiler from looking for them.
const importUntyped = (name: string): Promise<{ default: unknown }> => import(name)
type Autocannon = (
  options: Record<string, unknown>,
) => Promise<{ requests: { average: number }; non2xx: number }>

type Framework = 'express' | 'fastify' | 'koa'
type Variant = 'none' | 'diana' | 'peer'

const PEERS: Record<Framework, string> = {
  express: 'express-rate-limit',
  fastify: '@fastify/rate-limit',
  koa: 'koa-ratelimit',
}

// Limits high enough that every request is allowed: the cost measured is deciding, not refusing.
const HIGH = 1_000_000_000
export const FOUR_RULES: Rule[] = [
  { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: HIGH, window: '1s' },
  { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: HIGH, window: '1m' },
  { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: HIGH, window: '10s' },
  { name: 'route', dimension: ['device', 'resource'], algorithm: 'fixed-window', limit: HIGH, window: '1m' },
]
const DEVICES = 1000

type Message = { type: 'ready'; port: number } | { type: 'usage'; cpuUs: number; requests: number }

// ---------------------------------------------------------------- server process

async function serve(framework: Framework, variant: Variant): Promise<void> {
  const server = await app(framework, variant)
  let requests = 0
  server.on('request', () => {
    requests++
  })
  let cpu = process.cpuUsage()
  process.on('message', (message: { type: string }) => {
    if (message.type === 'start') {
      requests = 0
      cpu = process.cpuUsage()
    } else if (message.type === 'stop') {
      const used = process.cpuUsage(cpu)
      process.send?.({ type: 'usage', cpuUs: used.user + used.system, requests } satisfies Message)
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port } satisfies Message)
}

const deviceOf = (headers: Record<string, string | string[] | undefined>, ip: string | undefined) =>
  (headers['x-device-id'] as string | undefined) ?? ip ?? ''

async function app(framework: Framework, variant: Variant): Promise<Server> {
  const body = { hello: 'world' }
  if (framework === 'express') {
    const express = (await import('express')).default
    const application = express()
    if (variant === 'diana') {
      const { diana } = await import('../adapters/express')
      application.use(diana({ rules: FOUR_RULES, identify: (req) => req.get('x-account') }))
    } else if (variant === 'peer') {
      const { rateLimit } = await import('express-rate-limit')
      application.use(
        rateLimit({
          windowMs: 60_000,
          limit: HIGH,
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
      const diana = (await import('../adapters/fastify')).default
      await application.register(diana, {
        rules: FOUR_RULES,
        identify: (request) => request.headers['x-account'] as string | undefined,
      })
    } else if (variant === 'peer') {
      const rateLimit = (await import('@fastify/rate-limit')).default
      await application.register(rateLimit, {
        max: HIGH,
        timeWindow: 60_000,
        keyGenerator: (request) => deviceOf(request.headers, request.ip),
      })
    }
    application.get('/items/:id', async () => body)
    await application.listen({ port: 0, host: '127.0.0.1' })
    return application.server
  }
  const Koa = (await import('koa')).default
  const Router = (await import('@koa/router')).default
  const application = new Koa()
  const router = new Router()
  if (variant === 'diana') {
    const { diana } = await import('../adapters/koa')
    router.use(diana({ rules: FOUR_RULES, identify: (ctx) => ctx.get('x-account') || undefined }))
  } else if (variant === 'peer') {
    const ratelimit = (await importUntyped('koa-ratelimit')).default as (o: unknown) => Middleware
    application.use(
      ratelimit({
        driver: 'memory',
        db: new Map(),
        duration: 60_000,
        max: HIGH,
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

function waitFor<T extends Message['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<Message, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message) => {
      if (message.type !== type) return
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message as Extract<Message, { type: T }>)
    }
    const onExit = (code: number | null) => reject(new Error(`server process exited early (${code})`))
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

async function load(
  port: number,
  seconds: number,
  connections: number,
): Promise<{ rps: number; non2xx: number }> {
  const autocannon = (await importUntyped('autocannon')).default as Autocannon
  let n = 0
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
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
  return { rps: result.requests.average, non2xx: result.non2xx }
}

async function sample(
  framework: Framework,
  variant: Variant,
  options: { seconds: number; connections: number },
): Promise<Sample> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', framework, variant], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  try {
    const { port } = await waitFor(child, 'ready')
    await load(port, 1, options.connections) // warm-up: JIT and caches, not measured
    child.send({ type: 'start' })
    const { rps, non2xx } = await load(port, options.seconds, options.connections)
    child.send({ type: 'stop' })
    const usage = await waitFor(child, 'usage')
    return { cpuUsPerRequest: usage.cpuUs / usage.requests, requestsPerSecond: rps, non2xx }
  } finally {
    child.kill()
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const round1 = (x: number) => Math.round(x * 10) / 10

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '4' },
      connections: { type: 'string', default: '16' },
      frameworks: { type: 'string', default: 'express,fastify,koa' },
      json: { type: 'boolean', default: false },
    },
  })
  const rounds = Number(values.rounds)
  const options = { seconds: Number(values.seconds), connections: Number(values.connections) }
  const frameworks = values.frameworks.split(',') as Framework[]
  const variants: Variant[] = ['none', 'diana', 'peer']
  const results: Record<string, Sample[]> = {}
  for (let round = 1; round <= rounds; round++) {
    for (const framework of frameworks) {
      // The order rotates each round, so no scenario always runs first (or right after another).
      const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant)
      for (const variant of order) {
        const s = await sample(framework, variant, options)
        const key = `${framework}/${variant}`
        results[key] = [...(results[key] ?? []), s]
        process.stderr.write(
          `round ${round}/${rounds} ${framework}/${variant}: ${round1(s.cpuUsPerRequest)} µs CPU/req, ${Math.round(s.requestsPerSecond)} req/s${s.non2xx ? `, ${s.non2xx} non-2xx` : ''}\n`,
        )
      }
    }
  }
  const report = frameworks.map((framework) => {
    const base = results[`${framework}/none`] as Sample[]
    const added = (variant: Variant) => {
      const diffs = (results[`${framework}/${variant}`] as Sample[]).map(
        (s, i) => s.cpuUsPerRequest - (base[i] as Sample).cpuUsPerRequest,
      )
      return {
        median: round1(median(diffs)),
        min: round1(Math.min(...diffs)),
        max: round1(Math.max(...diffs)),
      }
    }
    const diana = added('diana')
    const peer = added('peer')
    return {
      framework,
      peer: PEERS[framework],
      baseCpuUsPerRequest: round1(median(base.map((s) => s.cpuUsPerRequest))),
      dianaAddedUs: diana,
      peerAddedUs: peer,
      ratio: Number((diana.median / peer.median).toFixed(2)),
      dianaRules: FOUR_RULES.length,
      peerRules: 1,
    }
  })
  if (values.json) {
    for (const row of report) process.stdout.write(`${JSON.stringify(row)}\n`)
    return
  }
  process.stdout.write(
    `Node ${process.version}; ${rounds} rounds × ${options.seconds}s, ${options.connections} connections; µs of server CPU per request\n`,
  )
  for (const row of report) {
    process.stdout.write(
      `${row.framework.padEnd(8)} bare ${row.baseCpuUsPerRequest} | Diana (4 rules) +${row.dianaAddedUs.median} [${row.dianaAddedUs.min}..${row.dianaAddedUs.max}] | ${row.peer} (1 rule) +${row.peerAddedUs.median} [${row.peerAddedUs.min}..${row.peerAddedUs.max}] | ratio ${row.ratio}\n`,
    )
  }
}

// Run only as a script (not when imported, e.g. for FOUR_RULES).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === 'serve') await serve(process.argv[3] as Framework, process.argv[4] as Variant)
  else await main()
}
