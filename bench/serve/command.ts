import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { describeEnvironment, formatEnvironment } from '../environment'
import { Histogram } from '../histogram'
import { type RedisCalls, redisCalls } from '../lease/redis-calls'
import { Progress } from '../progress'
import { type PrivateRedis, startRedis } from '../redis-server'
import { renderMarkdown, renderText } from '../report'
import { interleave } from '../sampling'
import type { ClientResult } from './client'
import { type Client, startClients } from './fleet'
import type { Contestant, ServeBenchOptions } from './options'
import {
  describeServeRun,
  type StoreResult,
  serveJson,
  serveNote,
  serveTable,
  summarize,
  type Tally,
} from './report'
import { type ServeChild, startFloor, startServe } from './server'
import { ADDRESSES, serveConfig } from './workload'

// The warm-up sample per store lets the JIT settle and the channels open; not counted.
const WARMUP_MS = 1000
// Every client is ready before this much time is given to reach the barrier.
const BARRIER_MS = 150

/**
 * `diana bench serve`: a `diana serve` child per store, client processes driving its gRPC API
 * (Envoy's ShouldRateLimit) with many calls in flight, the stores taking turns; calls/s,
 * latency, CPU per call of the server and the clients, and Redis commands per call.
 */
export async function runServeBench(options: ServeBenchOptions): Promise<number> {
  const useRedis = options.stores.includes('redis')
  const env = describeEnvironment(useRedis ? ['protobufjs', 'ioredis'] : ['protobufjs'])
  let own: PrivateRedis | undefined
  const servers = new Map<Contestant, ServeChild>()
  let calls: RedisCalls | undefined
  let clients: Client[] = []
  try {
    let redisWhere = ''
    if (useRedis) {
      if (options.redisUrl === undefined) own = await startRedis()
      const url = options.redisUrl ?? (own as PrivateRedis).url
      redisWhere = own ? `a private redis-server (${url})` : url
      calls = await redisCalls(url)
      servers.set('redis', await startServe(serveConfig({ type: 'redis', url })))
    }
    if (options.stores.includes('memory'))
      servers.set('memory', await startServe(serveConfig({ type: 'memory' })))
    servers.set('floor', await startFloor())
    const contestants: Contestant[] = ['floor', ...options.stores]
    const heading = describeServeRun(options, redisWhere)
    const info = options.json ? process.stderr : process.stdout
    info.write(`${heading}\n${formatEnvironment(env)}\n`)
    clients = startClients(options.clients)
    const tallies = new Map<Contestant, Tally>(contestants.map((c) => [c, emptyTally()]))
    const progress = new Progress(process.stderr)
    await interleave(contestants, { warmups: 1, samples: options.samples }, async (store, round) => {
      const warmup = round === 0
      const durationMs = warmup ? Math.min(WARMUP_MS, options.durationS * 1000) : options.durationS * 1000
      progress.begin(
        `${store === 'floor' ? 'floor (gRPC alone)' : `${store} store`}, ${options.clients} clients × ${perClient(options, 0)} in flight` +
          (warmup ? ' (warm-up)' : ` (sample ${round} of ${options.samples})`),
      )
      const server = servers.get(store) as ServeChild
      const sample = await runSample(
        clients,
        options,
        server,
        store === 'redis' ? calls : undefined,
        durationMs,
      )
      progress.end()
      if (!warmup) add(tallies.get(store) as Tally, sample)
      return sample.rate
    })
    const results: StoreResult[] = contestants.map((c) => summarize(c, tallies.get(c) as Tally))
    const table = serveTable(results)
    const note = serveNote(results)
    if (options.json) for (const r of results) process.stdout.write(`${JSON.stringify(serveJson(r))}\n`)
    else process.stdout.write(`\n${renderText(table)}\n${note}`)
    if (options.out) {
      const text =
        `# diana bench serve\n\n\`\`\`sh\ndiana bench ${options.argv.join(' ')}\n\`\`\`\n\n` +
        `${heading}\n\n${formatEnvironment(env)}\n\n${renderMarkdown(table)}\n${note}`
      await writeFile(options.out, text)
      process.stderr.write(`wrote ${options.out}\n`)
    }
  } finally {
    for (const client of clients) client.kill()
    await Promise.all([...servers.values()].map((s) => s.stop()))
    await calls?.close()
    await own?.stop()
  }
  return 0
}

/** Calls in flight of client `i`: the total split as evenly as it goes. */
function perClient(options: ServeBenchOptions, i: number): number {
  const base = Math.floor(options.concurrency / options.clients)
  return base + (i < options.concurrency % options.clients ? 1 : 0)
}

interface Sample {
  rate: number
  results: ClientResult[]
  redisAll: number
  redisScripts: number
  serverCpuUs: number
  redisCpuUs: number
}

async function runSample(
  clients: readonly Client[],
  options: ServeBenchOptions,
  server: ServeChild,
  calls: RedisCalls | undefined,
  durationMs: number,
): Promise<Sample> {
  // Each client starts at another place in the addresses, as Envoys serve other users.
  await Promise.all(
    clients.map((client, i) =>
      client.request({
        type: 'prepare',
        address: server.grpcAddress,
        concurrency: perClient(options, i),
        offset: Math.floor((i * ADDRESSES) / clients.length),
      }),
    ),
  )
  const before = await calls?.total()
  const redisCpuBefore = await calls?.cpuUs()
  const cpuBefore = processCpuUs(server.pid)
  const startAt = Date.now() + BARRIER_MS
  const settled = await Promise.allSettled(clients.map((c) => c.request({ type: 'go', startAt, durationMs })))
  const cpuAfter = processCpuUs(server.pid)
  const after = await calls?.total()
  const redisCpuAfter = await calls?.cpuUs()
  const results = settled.map((s) => {
    if (s.status === 'rejected') throw s.reason
    if (s.value.type !== 'done') throw new Error(`a client answered "${s.value.type}" instead of its result`)
    return s.value.result
  })
  return {
    rate: results.reduce((sum, r) => sum + (r.calls / r.elapsedMs) * 1000, 0),
    results,
    redisAll: before && after ? after.all - before.all : Number.NaN,
    redisScripts: before && after ? after.scripts - before.scripts : Number.NaN,
    serverCpuUs: cpuAfter - cpuBefore,
    redisCpuUs:
      redisCpuBefore === undefined || redisCpuAfter === undefined
        ? Number.NaN
        : redisCpuAfter - redisCpuBefore,
  }
}

/** CPU time (user + system) a process has used, µs, from /proc; NaN where there is none. */
function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The fields after the command name (which may hold spaces) start at its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 a second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6
  } catch {
    return Number.NaN
  }
}

function emptyTally(): Tally {
  return {
    rates: [],
    latency: new Histogram(),
    calls: 0,
    ok: 0,
    overLimit: 0,
    errors: 0,
    firstError: undefined,
    redisAll: 0,
    redisScripts: 0,
    serverCpuUs: 0,
    clientCpuUs: 0,
    redisCpuUs: 0,
  }
}

function add(tally: Tally, sample: Sample): void {
  tally.rates.push(sample.rate)
  tally.redisAll += sample.redisAll
  tally.redisScripts += sample.redisScripts
  tally.serverCpuUs += sample.serverCpuUs
  tally.redisCpuUs += sample.redisCpuUs
  for (const r of sample.results) {
    tally.calls += r.calls
    tally.ok += r.ok
    tally.overLimit += r.overLimit
    tally.errors += r.errors
    tally.firstError ??= r.firstError
    tally.clientCpuUs += r.cpuUs
    tally.latency.mergeBuckets(r.latency)
  }
}
