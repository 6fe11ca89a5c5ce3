import { randomBytes } from 'node:crypto'
import { Histogram } from '../histogram'
import type { Progress } from '../progress'
import { interleave, type Spread, spread } from '../sampling'
import { startFleet, type Worker } from './fleet'
import { type LeaseOptions, VARIANT_LABELS, type Variant } from './options'
import type { FromWorker, WorkerResult } from './protocol'
import type { RedisCalls } from './redis-calls'

/** What one variant did over its samples. */
export interface VariantResult {
  variant: Variant
  /** Why the variant was not measured (the build rejects its rules), or undefined. */
  unavailable?: string
  /** Fleet decisions per second (sum over workers), per sample. */
  decisionsPerSec: Spread
  p50Us: number
  p99Us: number
  /**
   * Redis commands of every kind during the samples, per decision: INFO commandstats counts
   * each command a script runs too, and heartbeats.
   */
  commandsPerDecision: number
  /** Script calls (EVAL, EVALSHA, FCALL) per decision: the round trips that decide something. */
  scriptsPerDecision: number
  /** Allowed decisions in the fullest and emptiest whole window, as a share of the limit. */
  admittedMin: number
  admittedMax: number
  /** Whole windows counted (the first and last, partial, of each sample are left out). */
  wholeWindows: number
  degradedShare: number
  /** Allowed decisions that could not be placed in a window (no finite resetMs). */
  unbucketed: number
}

interface Tally {
  unavailable?: string
  rates: number[]
  latency: Histogram
  decisions: number
  commands: number
  scripts: number
  windowCounts: number[]
  degraded: number
  unbucketed: number
}

// The warm-up sample per variant lets the JIT settle and the connections open; not counted.
const WARMUP_MS = 1000
// Every worker is ready before this much time is given to reach the barrier.
const BARRIER_MS = 150

/**
 * Runs every variant on a fleet of worker processes sharing one Redis, the variants taking
 * turns (bench/sampling.ts), a warm-up sample first. Each sample builds fresh limiters with
 * rules named for it, so it starts from empty keys.
 */
export async function runLease(
  options: LeaseOptions,
  redisUrl: string,
  calls: RedisCalls,
  progress: Progress,
): Promise<VariantResult[]> {
  const runId = randomBytes(3).toString('hex')
  const tallies = new Map<Variant, Tally>(
    options.variants.map((v) => [
      v,
      {
        rates: [],
        latency: new Histogram(),
        decisions: 0,
        commands: 0,
        scripts: 0,
        windowCounts: [],
        degraded: 0,
        unbucketed: 0,
      },
    ]),
  )
  const fleet = startFleet(options.processes)
  try {
    await interleave(options.variants, { warmups: 1, samples: options.samples }, async (variant, round) => {
      const tally = tallies.get(variant) as Tally
      if (tally.unavailable !== undefined) return Number.NaN
      const warmup = round === 0
      const durationMs = warmup ? Math.min(WARMUP_MS, options.durationS * 1000) : options.durationS * 1000
      progress.begin(
        `${VARIANT_LABELS[variant]}, ${options.processes} processes × ${options.concurrency} in flight` +
          (warmup ? ' (warm-up)' : ` (sample ${round} of ${options.samples})`),
      )
      const sample = await runSample(
        fleet,
        options,
        redisUrl,
        calls,
        variant,
        `${runId}-${round}`,
        durationMs,
      )
      progress.end()
      if ('unavailable' in sample) {
        tally.unavailable = sample.unavailable
        return Number.NaN
      }
      if (warmup) return sample.rate
      tally.rates.push(sample.rate)
      tally.decisions += sample.decisions
      tally.commands += sample.commands
      tally.scripts += sample.scripts
      tally.degraded += sample.degraded
      tally.unbucketed += sample.unbucketed
      tally.windowCounts.push(...sample.windowCounts)
      for (const r of sample.results) tally.latency.mergeBuckets(r.latency)
      return sample.rate
    })
  } finally {
    progress.end()
    for (const worker of fleet) worker.kill()
  }
  return options.variants.map((variant) => summarize(variant, tallies.get(variant) as Tally, options.limit))
}

type Sample =
  | { unavailable: string }
  | {
      rate: number
      decisions: number
      commands: number
      scripts: number
      degraded: number
      unbucketed: number
      windowCounts: number[]
      results: WorkerResult[]
    }

async function runSample(
  fleet: readonly Worker[],
  options: LeaseOptions,
  redisUrl: string,
  calls: RedisCalls,
  variant: Variant,
  tag: string,
  durationMs: number,
): Promise<Sample> {
  const spec = { variant, tag, limit: options.limit, windowMs: options.windowMs }
  // Each worker starts at another place in the subjects, as instances serve other clients.
  const answers = await Promise.all(
    fleet.map((worker, i) =>
      worker.request({
        type: 'prepare',
        spec,
        redisUrl,
        denialCache: options.denialCache,
        commandTimeoutMs: options.commandTimeoutMs,
        concurrency: options.concurrency,
        offset: Math.floor((i * 10_000) / fleet.length),
      }),
    ),
  )
  let sample: Sample
  try {
    sample = await measureSample(fleet, answers, calls, options, durationMs)
  } catch (error) {
    // Closing may fail too (a worker stuck): the first failure is the one to report.
    await closeAll(fleet).catch(() => {})
    throw error
  }
  await closeAll(fleet)
  return sample
}

async function closeAll(fleet: readonly Worker[]): Promise<void> {
  await Promise.all(fleet.map((worker) => worker.request({ type: 'close' })))
}

async function measureSample(
  fleet: readonly Worker[],
  answers: readonly FromWorker[],
  calls: RedisCalls,
  options: LeaseOptions,
  durationMs: number,
): Promise<Sample> {
  const refused = answers.find((a) => a.type === 'unavailable')
  if (refused?.type === 'unavailable') return { unavailable: refused.message }
  const before = await calls.total()
  const startAt = Date.now() + BARRIER_MS
  // Every worker answers before any is closed, so one failure is reported, not masked by another.
  const settled = await Promise.allSettled(
    fleet.map((worker) => worker.request({ type: 'go', startAt, durationMs })),
  )
  const after = await calls.total()
  const results = settled.map((s) => {
    if (s.status === 'rejected') throw s.reason
    if (s.value.type !== 'done') throw new Error(`a worker answered "${s.value.type}" instead of its result`)
    return s.value.result
  })
  const commands = after.all - before.all
  const scripts = after.scripts - before.scripts
  const decisions = results.reduce((sum, r) => sum + r.decisions, 0)
  return {
    rate: results.reduce((sum, r) => sum + (r.decisions / r.elapsedMs) * 1000, 0),
    decisions,
    commands,
    scripts,
    degraded: results.reduce((sum, r) => sum + r.degraded, 0),
    unbucketed: results.reduce((sum, r) => sum + r.unbucketed, 0),
    windowCounts: wholeWindowCounts(results, startAt, startAt + durationMs, options.windowMs),
    results,
  }
}

/**
 * Allowed decisions of the whole fleet in each window that lies wholly inside [start, end]:
 * windows are aligned to the epoch, so window k is [k·W, (k+1)·W), and the partial first and
 * last are left out. A window in which nothing was admitted counts as 0.
 */
export function wholeWindowCounts(
  results: readonly Pick<WorkerResult, 'windows'>[],
  start: number,
  end: number,
  windowMs: number,
): number[] {
  const first = Math.ceil(start / windowMs)
  const last = Math.floor(end / windowMs) - 1
  const counts: number[] = []
  for (let k = first; k <= last; k++) counts.push(0)
  for (const r of results) {
    for (const [k, n] of r.windows) {
      if (k >= first && k <= last) counts[k - first] = (counts[k - first] as number) + n
    }
  }
  return counts
}

function summarize(variant: Variant, tally: Tally, limit: number): VariantResult {
  const none = Number.NaN
  return {
    variant,
    ...(tally.unavailable !== undefined ? { unavailable: tally.unavailable } : {}),
    decisionsPerSec: spread(tally.rates),
    p50Us: tally.latency.percentile(50) / 1000,
    p99Us: tally.latency.percentile(99) / 1000,
    commandsPerDecision: tally.decisions === 0 ? none : tally.commands / tally.decisions,
    scriptsPerDecision: tally.decisions === 0 ? none : tally.scripts / tally.decisions,
    admittedMin: tally.windowCounts.length === 0 ? none : Math.min(...tally.windowCounts) / limit,
    admittedMax: tally.windowCounts.length === 0 ? none : Math.max(...tally.windowCounts) / limit,
    wholeWindows: tally.windowCounts.length,
    degradedShare: tally.decisions === 0 ? 0 : tally.degraded / tally.decisions,
    unbucketed: tally.unbucketed,
  }
}
