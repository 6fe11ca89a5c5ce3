import { describeEnvironment } from './environment'
import { collectGarbage } from './gc'
import { Histogram } from './histogram'
import { HTTP_PEERS, type HttpVariant, httpContenderName } from './http-contenders'
import { importOptional, interop, isNotFound } from './optional-module'
import { type BenchOptions, type Framework, HTTP_SERVER_COMMAND } from './options'
import { formatRate, Progress } from './progress'
import { renderText, type Table } from './report'
import { announce, writeMarkdown } from './run-report'
import { interleave, type Spread, spread } from './sampling'
import { type ServerProcess, startServerProcess } from './server-process'

/** The adapters (or the build that exports them) are not there: the benchmark says so and stops. */
export class HttpUnavailableError extends Error {
  override name = 'HttpUnavailableError'
}

export interface HttpResult {
  framework: Framework
  /** `none`, `diana`, or the peer package's name. */
  limiter: string
  algorithm: string | undefined
  keys: number
  connections: number
  samples: number
  reqPerSec: Spread
  p50Us: number
  p99Us: number
  /** Server CPU time (user + system) per request, in microseconds. */
  cpuUsPerReq: number
  non2xx: number
}

// A sample shorter than this is mostly autocannon starting and stopping.
const MIN_SAMPLE_S = 1

interface AutocannonResult {
  duration: number
  requests: { total: number }
  non2xx: number
  errors: number
}
interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
}
type Autocannon = (options: Record<string, unknown>) => AutocannonInstance

/**
 * `diana bench http`: per framework, a bare server, the same server with Diana and (with
 * `--compare`) with the framework's usual limiter, each in its own process, driven in turn by
 * autocannon from this process.
 */
export async function runHttpBench(options: BenchOptions): Promise<number> {
  for (const framework of options.frameworks) await checkAdapter(framework)
  const autocannon = interop(
    await importOptional<Autocannon | { default: Autocannon }>('autocannon', 'diana bench http'),
  )
  const packages = ['autocannon', ...options.frameworks]
  if (options.compare) packages.push(...options.frameworks.map((f) => HTTP_PEERS[f]))
  const env = describeEnvironment(packages)
  announce(options, env)
  const progress = new Progress(process.stderr)
  const results: HttpResult[] = []
  for (const framework of options.frameworks) {
    const variants: HttpVariant[] = options.compare ? ['none', 'diana', 'peer'] : ['none', 'diana']
    const measured = await runFramework(options, framework, variants, autocannon, progress)
    results.push(...measured)
    if (options.json) {
      for (const result of measured) process.stdout.write(`${JSON.stringify(httpJson(result, results))}\n`)
    }
    collectGarbage()
  }
  const table = httpTable(results)
  const note =
    '\nCPU µs/req = server process CPU time (user + system) per request; "added" is that minus the bare server\'s.\n' +
    (options.compare
      ? "ratio = diana req/s / the framework limiter's req/s, measured interleaved in this run.\n"
      : '')
  if (!options.json) process.stdout.write(`\n${renderText(table)}${note}`)
  if (options.out) await writeMarkdown(options, env, table, note)
  return 0
}

async function checkAdapter(framework: Framework): Promise<void> {
  const name = `diana-limiter/${framework}`
  try {
    await import(name)
  } catch (error) {
    if (isNotFound(error, name)) {
      throw new HttpUnavailableError(
        `HTTP adapters are not available yet: "${name}" cannot be loaded ` +
          '(it must be exported by package.json and built into dist/ with "npm run build")',
      )
    }
    throw error
  }
}

async function runFramework(
  options: BenchOptions,
  framework: Framework,
  variants: HttpVariant[],
  autocannon: Autocannon,
  progress: Progress,
): Promise<HttpResult[]> {
  const algorithm = options.algorithms[0] as string
  const servers = new Map<HttpVariant, ServerProcess>()
  try {
    for (const variant of variants) servers.set(variant, await startServer(framework, variant, algorithm))
    const sampleS = Math.max(MIN_SAMPLE_S, options.durationS / options.samples)
    const histograms = new Map(variants.map((v) => [v, new Histogram()]))
    const cpu = new Map(variants.map((v) => [v, { us: 0, requests: 0, non2xx: 0 }]))
    const keys = Array.from({ length: options.keys }, (_, i) => `device-${i}`)
    const kept = await interleave(
      variants,
      { warmups: 1, samples: options.samples },
      async (variant, round) => {
        const server = servers.get(variant) as ServerProcess
        const label = `${framework} / ${httpContenderName(framework, variant)}${round === 0 ? ' (warm-up)' : ''}`
        progress.begin(label)
        const histogram = round === 0 ? new Histogram() : (histograms.get(variant) as Histogram)
        server.start()
        const result = await load(autocannon, server.port, options, keys, sampleS, histogram, (s, n) =>
          progress.tick(label, s * 1000, n / s, 'req/s'),
        )
        const usage = await server.stop()
        progress.end()
        if (round > 0) {
          const total = cpu.get(variant) as { us: number; requests: number; non2xx: number }
          total.us += usage.cpuUs
          total.requests += usage.requests
          total.non2xx += result.non2xx
        }
        return result.requests.total / result.duration
      },
    )
    return variants.map((variant) => {
      const histogram = histograms.get(variant) as Histogram
      const total = cpu.get(variant) as { us: number; requests: number; non2xx: number }
      return {
        framework,
        limiter: httpContenderName(framework, variant),
        algorithm: variant === 'diana' ? algorithm : undefined,
        keys: options.keys,
        connections: options.concurrency,
        samples: options.samples,
        reqPerSec: spread(kept[variant] ?? []),
        p50Us: histogram.percentile(50) / 1000,
        p99Us: histogram.percentile(99) / 1000,
        cpuUsPerReq: total.requests > 0 ? total.us / total.requests : Number.NaN,
        non2xx: total.non2xx,
      }
    })
  } finally {
    progress.end()
    for (const server of servers.values()) server.kill()
  }
}

async function load(
  autocannon: Autocannon,
  port: number,
  options: BenchOptions,
  keys: readonly string[],
  seconds: number,
  histogram: Histogram,
  onTick: (elapsedS: number, responses: number) => void,
): Promise<AutocannonResult> {
  let next = 0
  const request =
    keys.length === 1
      ? { method: 'GET', path: '/hello', headers: { 'x-device-id': keys[0] } }
      : {
          method: 'GET',
          path: '/hello',
          // Each request from the next device, so Diana and the peers count keys.length subjects.
          setupRequest: (req: { headers?: Record<string, string> }) => {
            const key = keys[next] as string
            next = next + 1 === keys.length ? 0 : next + 1
            return { ...req, headers: { ...req.headers, 'x-device-id': key } }
          },
        }
  const start = performance.now()
  let responses = 0
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.concurrency,
    duration: seconds,
    requests: [request],
  })
  instance.on('response', (_client, _status, _bytes, ms) => {
    histogram.record(ms * 1e6)
    if (++responses % 256 === 0) onTick((performance.now() - start) / 1000, responses)
  })
  return await instance
}

/** Forks this same CLI in server mode and waits until it listens. */
function startServer(framework: Framework, variant: HttpVariant, algorithm: string): Promise<ServerProcess> {
  const entry = process.argv[1]
  if (!entry) throw new Error('cannot tell which script to start the server process with')
  return startServerProcess(`the ${framework} server (${variant})`, entry, [
    'bench',
    HTTP_SERVER_COMMAND,
    framework,
    variant,
    algorithm,
  ])
}

function httpTable(results: readonly HttpResult[]): Table {
  const header = [
    'framework',
    'limiter',
    'req/s',
    'min–max',
    'p50 µs',
    'p99 µs',
    'CPU µs/req',
    'added',
    'ratio',
  ]
  const rows = results.map((r) => {
    const bare = results.find((b) => b.framework === r.framework && b.limiter === 'none')
    const peer = peerOf(r, results)
    return [
      r.framework,
      r.limiter === 'diana' ? `diana (${r.algorithm})` : r.limiter,
      formatRate(r.reqPerSec.median),
      `${formatRate(r.reqPerSec.min)}–${formatRate(r.reqPerSec.max)}`,
      r.p50Us.toFixed(0),
      r.p99Us.toFixed(0),
      r.cpuUsPerReq.toFixed(1),
      bare && r !== bare ? `+${(r.cpuUsPerReq - bare.cpuUsPerReq).toFixed(1)}` : '',
      peer ? `${(r.reqPerSec.median / peer.reqPerSec.median).toFixed(2)}x` : '',
    ]
  })
  return { header, rows, leftColumns: 2 }
}

function peerOf(result: HttpResult, results: readonly HttpResult[]): HttpResult | undefined {
  if (result.limiter !== 'diana') return undefined
  return results.find((p) => p.framework === result.framework && p.limiter === HTTP_PEERS[result.framework])
}

function httpJson(r: HttpResult, results: readonly HttpResult[]): Record<string, unknown> {
  const bare = results.find((b) => b.framework === r.framework && b.limiter === 'none')
  const peer = peerOf(r, results)
  const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 100) / 100 : null)
  return {
    scenario: 'http',
    framework: r.framework,
    limiter: r.limiter,
    ...(r.algorithm ? { algorithm: r.algorithm } : {}),
    keys: r.keys,
    concurrency: r.connections,
    reqPerSec: Math.round(r.reqPerSec.median),
    reqPerSecMin: Math.round(r.reqPerSec.min),
    reqPerSecMax: Math.round(r.reqPerSec.max),
    p50Us: round(r.p50Us),
    p99Us: round(r.p99Us),
    cpuUsPerReq: round(r.cpuUsPerReq),
    ...(bare && bare !== r ? { cpuUsAddedPerReq: round(r.cpuUsPerReq - bare.cpuUsPerReq) } : {}),
    ...(peer ? { ratioVsPeer: round(r.reqPerSec.median / peer.reqPerSec.median) } : {}),
    samples: r.samples,
    non2xx: r.non2xx,
  }
}
