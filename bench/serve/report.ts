import type { Histogram } from '../histogram'
import type { Table } from '../report'
import { type Spread, spread } from '../sampling'
import type { Contestant, ServeBenchOptions } from './options'

/** The targets on a 2-core machine (issue 17, item 5). */
export const SERVE_TARGETS = { callsPerSec: 20_000, p99Ms: 5 }

/** What the clients saw of one store over its samples. */
export interface Tally {
  rates: number[]
  latency: Histogram
  calls: number
  ok: number
  overLimit: number
  errors: number
  firstError: string | undefined
  redisAll: number
  redisScripts: number
  serverCpuUs: number
  clientCpuUs: number
  redisCpuUs: number
}

export interface StoreResult {
  store: Contestant
  /** ShouldRateLimit calls answered per second, all clients together, per sample. */
  callsPerSec: Spread
  p50Ms: number
  p99Ms: number
  calls: number
  overLimitShare: number
  errors: number
  firstError: string | undefined
  /** Redis script calls (EVAL, EVALSHA, FCALL) per gRPC call; NaN for the memory store. */
  redisScriptsPerCall: number
  /** Every Redis command (a script's own included) per gRPC call; NaN for the memory store. */
  redisCommandsPerCall: number
  /** CPU time of the `diana serve` process per call, µs. */
  serverCpuUsPerCall: number
  /** CPU time of the client processes per call, µs. */
  clientCpuUsPerCall: number
  /** CPU time of the Redis server per call (INFO cpu), µs; NaN for the memory store. */
  redisCpuUsPerCall: number
}

export function summarize(store: Contestant, t: Tally): StoreResult {
  const per = (n: number) => (t.calls === 0 ? Number.NaN : n / t.calls)
  return {
    store,
    callsPerSec: spread(t.rates),
    p50Ms: t.latency.percentile(50) / 1e6,
    p99Ms: t.latency.percentile(99) / 1e6,
    calls: t.calls,
    overLimitShare: per(t.overLimit),
    errors: t.errors,
    firstError: t.firstError,
    redisScriptsPerCall: store === 'redis' ? per(t.redisScripts) : Number.NaN,
    redisCommandsPerCall: store === 'redis' ? per(t.redisAll) : Number.NaN,
    serverCpuUsPerCall: per(t.serverCpuUs),
    clientCpuUsPerCall: per(t.clientCpuUs),
    redisCpuUsPerCall: store === 'redis' ? per(t.redisCpuUs) : Number.NaN,
  }
}

export function describeServeRun(options: ServeBenchOptions, redisWhere: string): string {
  return (
    `diana bench serve: diana serve --grpc, ${options.clients} client processes with ${options.concurrency} ` +
    `ShouldRateLimit calls in flight in all; ${options.durationS} s per store and sample, ${options.samples} ` +
    `samples after a warm-up, the floor (gRPC alone) and the stores taking turns; medians with min–max` +
    (redisWhere ? `; Redis: ${redisWhere}` : '')
  )
}

export function serveTable(results: readonly StoreResult[]): Table {
  const header = [
    'server',
    'calls/s',
    'min–max',
    'p50 ms',
    'p99 ms',
    'over limit',
    'errors',
    'Redis scripts/call',
    'Redis cmds/call',
    'server CPU µs/call',
    'client CPU µs/call',
    'Redis CPU µs/call',
  ]
  const rows = results.map((r) => [
    r.store === 'floor' ? 'floor (gRPC alone)' : r.store,
    count(r.callsPerSec.median),
    `${count(r.callsPerSec.min)}–${count(r.callsPerSec.max)}`,
    ms(r.p50Ms),
    ms(r.p99Ms),
    Number.isFinite(r.overLimitShare) ? `${(r.overLimitShare * 100).toFixed(1)} %` : '-',
    String(r.errors),
    ratio(r.redisScriptsPerCall),
    ratio(r.redisCommandsPerCall),
    count(r.serverCpuUsPerCall),
    count(r.clientCpuUsPerCall),
    count(r.redisCpuUsPerCall),
  ])
  return { header, rows, leftColumns: 1 }
}

/** Whether each store met the targets, and what the columns mean. */
export function serveNote(results: readonly StoreResult[]): string {
  const lines = results
    .filter((r) => r.store !== 'floor')
    .map((r) => {
      const t = targetsMet(r)
      return (
        `${r.store}: ${count(r.callsPerSec.median)} calls/s (target ≥ ${count(SERVE_TARGETS.callsPerSec)}: ${t.rate ? 'met' : 'NOT met'}), ` +
        `p99 ${ms(r.p99Ms)} ms (target ≤ ${SERVE_TARGETS.p99Ms} ms: ${t.p99 ? 'met' : 'NOT met'})` +
        (r.errors > 0 ? `; ${r.errors} calls failed (first: ${r.firstError})` : '')
      )
    })
  return (
    `${lines.join('\n')}\n\n` +
    `floor: the same clients against diana serve's gRPC server (same framing, protobufjs decoding and encoding) answering a constant OK, no limiter: the ratio of a store to it is what Diana adds.\n` +
    `The clients run on the same machine as diana serve (and Redis), so the figures are what ` +
    `one machine does with all three; CPU µs/call says where its time went. Redis scripts/call counts EVAL and EVALSHA, ` +
    `cmds/call every command Redis ran (INFO commandstats).\n`
  )
}

export function targetsMet(r: StoreResult): { rate: boolean; p99: boolean } {
  return { rate: r.callsPerSec.median >= SERVE_TARGETS.callsPerSec, p99: r.p99Ms <= SERVE_TARGETS.p99Ms }
}

export function serveJson(r: StoreResult): Record<string, unknown> {
  const finite = (n: number) => (Number.isFinite(n) ? n : null)
  const met = targetsMet(r)
  return {
    store: r.store,
    callsPerSec: r.callsPerSec,
    p50Ms: finite(r.p50Ms),
    p99Ms: finite(r.p99Ms),
    calls: r.calls,
    overLimitShare: finite(r.overLimitShare),
    errors: r.errors,
    redisScriptsPerCall: finite(r.redisScriptsPerCall),
    redisCommandsPerCall: finite(r.redisCommandsPerCall),
    serverCpuUsPerCall: finite(r.serverCpuUsPerCall),
    clientCpuUsPerCall: finite(r.clientCpuUsPerCall),
    redisCpuUsPerCall: finite(r.redisCpuUsPerCall),
    targets: { ...SERVE_TARGETS, callsPerSecMet: met.rate, p99Met: met.p99 },
  }
}

function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-'
}

function ms(n: number): string {
  return Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : '-'
}

function ratio(n: number): string {
  return Number.isFinite(n) ? n.toFixed(2) : '-'
}
