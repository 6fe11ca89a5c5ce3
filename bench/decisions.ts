import { randomBytes } from 'node:crypto'
import type { Contender } from './contender'
import { dianaContender, PEER_NAME, peerContender, type ScenarioSetup } from './contenders'
import { collectGarbage } from './gc'
import { Histogram } from './histogram'
import type { BenchOptions } from './options'
import type { Progress } from './progress'
import { interleave, type Spread, spread } from './sampling'

/** Figures for one contender in one scenario. */
export interface ContenderFigures {
  name: string
  opsPerSec: Spread
  p50Us: number
  p99Us: number
  /** Share of the timed checks answered by a local fallback (the shared store failed). */
  degradedShare: number
}

export interface DecisionResult {
  algorithm: string
  store: string
  keys: number
  concurrency: number
  rules: number
  samples: number
  diana: ContenderFigures
  peer?: ContenderFigures
}

// One check in eight is timed: enough for stable percentiles, too few to slow the loop down.
const LATENCY_EVERY = 8

/**
 * Runs the decision benchmark for every algorithm asked for, scenario by scenario, and
 * reports each result as soon as it is known.
 */
export async function runDecisions(
  options: BenchOptions,
  progress: Progress,
  onResult: (result: DecisionResult) => void,
): Promise<DecisionResult[]> {
  const results: DecisionResult[] = []
  const runId = randomBytes(4).toString('hex')
  // Key names are unique per run, so a Redis shared with earlier runs starts empty for us.
  const keys = Array.from({ length: options.keys }, (_, i) => `bench-${runId}-${i}`)
  for (const algorithm of options.algorithms) {
    const setup: ScenarioSetup = { ...options, algorithm }
    const label = `${algorithm} / ${options.store} / ${options.keys} keys / ${options.concurrency} in flight`
    progress.begin(label)
    const contenders: Contender[] = [await dianaContender(setup)]
    try {
      if (options.compare) contenders.push(await peerContender(setup, runId))
      const result = await measureScenario(options, setup, contenders, keys, progress, label)
      results.push(result)
      progress.end()
      onResult(result)
    } finally {
      progress.end()
      for (const contender of contenders) await contender.dispose(keys)
      collectGarbage()
    }
  }
  return results
}

async function measureScenario(
  options: BenchOptions,
  setup: ScenarioSetup,
  contenders: Contender[],
  keys: readonly string[],
  progress: Progress,
  label: string,
): Promise<DecisionResult> {
  const sampleMs = (options.durationS * 1000) / options.samples
  const histograms = new Map(contenders.map((c) => [c.name, new Histogram()]))
  const degraded = new Map(contenders.map((c) => [c.name, 0]))
  const byName = new Map(contenders.map((c) => [c.name, c]))
  let measuredMs = 0
  const kept = await interleave(
    contenders.map((c) => c.name),
    { warmups: 1, samples: options.samples },
    async (name, round) => {
      collectGarbage()
      const contender = byName.get(name) as Contender
      // The warm-up round fills the keys and lets the JIT settle; its latencies are dropped too.
      const histogram = round === 0 ? new Histogram() : (histograms.get(name) as Histogram)
      const tag = `${label}  ${name}${round === 0 ? ' (warm-up)' : ''}`
      const { ops, elapsedMs, degradedChecks } = await drive(
        contender,
        keys,
        options.concurrency,
        sampleMs,
        histogram,
        (ms, n) => progress.tick(tag, measuredMs + ms, (n / ms) * 1000, 'checks/s'),
      )
      if (round > 0) {
        measuredMs += elapsedMs
        degraded.set(name, (degraded.get(name) ?? 0) + degradedChecks)
      }
      return (ops / elapsedMs) * 1000
    },
  )
  const figures = (name: string): ContenderFigures => {
    const histogram = histograms.get(name) as Histogram
    return {
      name,
      opsPerSec: spread(kept[name] ?? []),
      p50Us: histogram.percentile(50) / 1000,
      p99Us: histogram.percentile(99) / 1000,
      degradedShare: histogram.count === 0 ? 0 : (degraded.get(name) ?? 0) / histogram.count,
    }
  }
  return {
    algorithm: setup.algorithm,
    store: setup.store,
    keys: setup.keys,
    concurrency: options.concurrency,
    rules: setup.rules,
    samples: options.samples,
    diana: figures('diana'),
    ...(contenders.length > 1 ? { peer: figures(PEER_NAME) } : {}),
  }
}

/**
 * `concurrency` loops, each awaiting one check at a time, over the keys round robin, until
 * `durationMs` has passed. The clock is read every 64 checks, not every check; the timed
 * checks (one in eight) are also the ones inspected for degraded answers.
 */
async function drive(
  contender: Contender,
  keys: readonly string[],
  concurrency: number,
  durationMs: number,
  histogram: Histogram,
  onTick: (elapsedMs: number, ops: number) => void,
): Promise<{ ops: number; elapsedMs: number; degradedChecks: number }> {
  const count = keys.length
  let next = 0
  let ops = 0
  let degradedChecks = 0
  let stop = false
  const start = performance.now()
  const end = start + durationMs
  const loop = async (): Promise<void> => {
    while (!stop) {
      const key = keys[next] as string
      next = next + 1 === count ? 0 : next + 1
      try {
        if (ops % LATENCY_EVERY === 0) {
          const t0 = performance.now()
          const answer = await contender.check(key)
          histogram.record((performance.now() - t0) * 1e6)
          if (contender.degraded?.(answer)) degradedChecks++
        } else {
          await contender.check(key)
        }
      } catch (error) {
        // rate-limiter-flexible rejects a denied request with a plain result object: that is
        // a decision like any other. A real Error is not.
        if (error instanceof Error) throw error
      }
      ops++
      if ((ops & 63) === 0) {
        const now = performance.now()
        if (now >= end) stop = true
        onTick(now - start, ops)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return { ops, elapsedMs: performance.now() - start, degradedChecks }
}
