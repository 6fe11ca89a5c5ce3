import { setTimeout as sleep } from 'node:timers/promises'
import type { Progress } from '../progress'
import { type ServerProcess, startServerProcess } from '../server-process'
import { ClosedLoop, StepRecorder, unloadedLatencies } from './closed-loop'
import { OVERLOAD_SERVER_COMMAND, type OverloadOptions, VARIANT_LABELS, type Variant } from './options'

/** What one variant did at one step of offered load. */
export interface StepResult {
  variant: Variant
  /** Offered load, in multiples of capacity. */
  offered: number
  clients: number
  /** Admitted (200) responses per second. */
  throughput: number
  /** Admitted responses within the SLO per second. */
  goodput: number
  /** Goodput as a share of capacity. */
  goodputShare: number
  /** p99 latency of the admitted responses, ms (NaN when none was admitted). */
  p99Ms: number
  /** Shed (503/429) responses per second. */
  shedPerSec: number
  /** Shed responses as a share of all responses. */
  shedShare: number
  /** Requests that failed outright (connection errors, other statuses). */
  errors: number
}

export interface Baseline {
  /** Requests per second the service serves at most: slots / service time. */
  capacity: number
  unloadedP50Ms: number
  unloadedP99Ms: number
  /** A response counts toward goodput within this many ms: 3 × the unloaded p50. */
  sloMs: number
}

export const SLO_FACTOR = 3

/**
 * Measures the bare service one request at a time, then drives each variant with closed-loop
 * clients through the steps of offered load, in a fresh service process per variant. Within
 * a variant the load only changes between steps, as in a service whose traffic rises: each
 * step first settles (what the previous step left queued drains, a limit adapts), then is
 * measured for `durationS`.
 */
export async function runOverload(
  options: OverloadOptions,
  progress: Progress,
  onBaseline: (baseline: Baseline) => void,
  onResult: (result: StepResult) => void,
): Promise<{ baseline: Baseline; results: StepResult[] }> {
  const capacity = (options.slots * 1000) / options.serviceMs
  const settleMs = Math.min(1000, Math.max(200, 25 * options.serviceMs))
  const maxClients = Math.max(...options.steps.map((step) => clientsFor(step, options.slots)))
  const results: StepResult[] = []
  let baseline: Baseline | undefined
  let bare: ServerProcess | undefined = await startService('bare', options)
  try {
    progress.begin('unloaded latency, one request at a time')
    const count = Math.min(200, Math.max(50, Math.round(2000 / options.serviceMs)))
    await unloadedLatencies(bare.port, 10)
    const lone = await unloadedLatencies(bare.port, count)
    progress.end()
    const unloadedP50Ms = percentile(lone, 50)
    baseline = {
      capacity,
      unloadedP50Ms,
      unloadedP99Ms: percentile(lone, 99),
      sloMs: SLO_FACTOR * unloadedP50Ms,
    }
    onBaseline(baseline)
    for (const variant of options.variants) {
      const server: ServerProcess = variant === 'bare' && bare ? bare : await startService(variant, options)
      const loop = new ClosedLoop(server.port, options.serviceMs, maxClients)
      try {
        for (const offered of options.steps) {
          const clients = clientsFor(offered, options.slots)
          progress.begin(`${VARIANT_LABELS[variant]} at ${offered}× capacity (${clients} clients)`)
          loop.setClients(clients)
          await sleep(settleMs)
          const recorder = new StepRecorder()
          loop.recorder = recorder
          await sleep(options.durationS * 1000)
          loop.recorder = undefined
          progress.end()
          const result = summarize(variant, offered, clients, recorder, baseline)
          results.push(result)
          onResult(result)
        }
      } finally {
        await loop.stop()
        server.kill()
        if (server === bare) bare = undefined
      }
    }
  } finally {
    progress.end()
    bare?.kill()
  }
  return { baseline, results }
}

/**
 * Clients for `offered` × capacity: each thinks for one service time between requests, so
 * unloaded a client sends one request per two service times, and 2 × offered × slots of them
 * offer `offered` × slots / service time.
 */
export function clientsFor(offered: number, slots: number): number {
  return Math.max(1, Math.round(2 * offered * slots))
}

function summarize(
  variant: Variant,
  offered: number,
  clients: number,
  recorder: StepRecorder,
  baseline: Baseline,
): StepResult {
  const seconds = (performance.now() - recorder.startMs) / 1000
  const admitted = recorder.admittedMs
  const good = admitted.filter((ms) => ms <= baseline.sloMs).length
  const responses = admitted.length + recorder.shed + recorder.errors
  return {
    variant,
    offered,
    clients,
    throughput: admitted.length / seconds,
    goodput: good / seconds,
    goodputShare: good / seconds / baseline.capacity,
    p99Ms: percentile(admitted, 99),
    shedPerSec: recorder.shed / seconds,
    shedShare: responses === 0 ? 0 : recorder.shed / responses,
    errors: recorder.errors,
  }
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

/** Forks this same CLI as the service process of `variant`. */
function startService(variant: Variant, options: OverloadOptions): Promise<ServerProcess> {
  const entry = process.argv[1]
  if (!entry) throw new Error('cannot tell which script to start the service process with')
  const name = `the ${VARIANT_LABELS[variant]} service`
  return startServerProcess(
    name,
    entry,
    ['bench', OVERLOAD_SERVER_COMMAND, variant, String(options.slots), String(options.serviceMs)],
    { execArgv: process.execArgv },
  )
}
