/**
 * Diana's Redis store side by side with rate-limiter-flexible's RateLimiterRedis on the same
 * self-started redis-server, taking turns (bench/sampling.ts): decisions/s and p50 latency at
 * one check in flight (a quiet service, where a round trip's latency is all there is) and at
 * 256 (where batching pays). Also, at 256: 4 rules per check against 1, batching on and off;
 * and check latency while Redis is stopped with SIGSTOP.
 *
 *   npx tsup && node --import tsx scripts/bench/redis-store.ts [--seconds 1] [--samples 5]
 *
 * Diana is the built package (hence `npx tsup` first), as users run it: tsx's transform of the
 * sources names every closure as it is made (esbuild's keepNames), which alone costs Diana about
 * a sixth of its client time per check and would be measured against the peer's plain JS.
 */

import { createLimiter, type Limiter, RedisStore, type Rule } from 'diana-limiter'
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { Contender } from '../../bench/contender'
import { Histogram } from '../../bench/histogram'
import { BENCH_LIMIT, BENCH_WINDOW_S } from '../../bench/quota'
import { startRedis } from '../../bench/redis-server'
import { interleave, spread } from '../../bench/sampling'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const SECONDS = option('seconds', 1)
const SAMPLES = option('samples', 5)
const IN_FLIGHT = 256
const KEYS = 10_000

const rule = (name: string, dimension: string): Rule => ({
  name,
  dimension,
  algorithm: 'fixed-window',
  limit: BENCH_LIMIT,
  window: '1m',
})

/** Decisions taken locally during the throughput runs: those would flatter the figures. */
let degradedDuringRuns = 0

/** Each round's median check latency (ms) per contender and concurrency, beside its throughput. */
const p50s = new Map<string, number[]>()

/**
 * Decisions per second with `inFlight` checks always outstanding over KEYS keys, for SECONDS;
 * records the round's median latency under `label` (kept rounds only: `keep`).
 */
async function throughput(
  contender: Contender,
  inFlight: number,
  label: string,
  keep: boolean,
): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  const latency = new Histogram()
  let done = 0
  let n = 0
  const lane = async () => {
    while (performance.now() < end) {
      const started = performance.now()
      const answer = await contender.check(String(n++ % KEYS))
      latency.record((performance.now() - started) * 1e6)
      if (contender.degraded?.(answer)) degradedDuringRuns++
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, lane))
  const rate = done / ((performance.now() - started) / 1000)
  if (keep) {
    const kept = p50s.get(label) ?? []
    kept.push(latency.percentile(50) / 1e6)
    p50s.set(label, kept)
  }
  return rate
}

const subject = (key: string) => ({
  account: `a${key}`,
  device: `d${Number(key) % 997}`,
  resource: `/r${Number(key) % 13}`,
})

function dianaContender(name: string, limiter: Limiter): Contender {
  return {
    name,
    check: (key) => limiter.check(subject(key)),
    degraded: (answer) => (answer as { degraded?: boolean }).degraded === true,
    dispose: () => limiter.close(),
  }
}

const redis = await startRedis()
try {
  const flexibleClient = new Redis(redis.url)
  const flexibleLimiter = new RateLimiterRedis({
    storeClient: flexibleClient,
    points: BENCH_LIMIT,
    duration: BENCH_WINDOW_S,
  })
  const flexible: Contender = {
    name: 'rate-limiter-flexible',
    check: (key) => flexibleLimiter.consume(`a${key}`),
    dispose: async () => {
      flexibleClient.disconnect()
    },
  }
  const stores: RedisStore[] = []
  const diana = (rules: Rule[], batch: boolean, commandTimeoutMs = 1000) => {
    // A generous timeout: a shared 2-core machine must not trip the breaker mid-run.
    const store = new RedisStore(
      { type: 'redis', url: redis.url, batch: batch ? undefined : false, logger: false, commandTimeoutMs },
      Date.now,
    )
    stores.push(store)
    return createLimiter({ rules, store })
  }
  const contenders: Contender[] = [
    flexible,
    dianaContender('diana-1-rule', diana([rule('account', 'account')], true)),
    dianaContender(
      'diana-4-rules',
      diana(
        [
          rule('global', 'global'),
          rule('account', 'account'),
          rule('device', 'device'),
          rule('resource', 'resource'),
        ],
        true,
      ),
    ),
    dianaContender('diana-unbatched', diana([rule('account', 'account')], false)),
  ]
  // Defaults (commandTimeoutMs 50) for the hung-Redis measurement.
  const hung = diana([rule('account', 'account')], true, 50)
  await Promise.all(stores.map((store) => store.ready()))

  const byName = new Map(contenders.map((c) => [c.name, c]))
  /** Contender name, then `@1` for one check in flight; plain names run at IN_FLIGHT. */
  const runs = [...contenders.map((c) => c.name), `${flexible.name}@1`, 'diana-1-rule@1']
  const results = await interleave(runs, { warmups: 1, samples: SAMPLES }, (run, round) => {
    const [name, one] = run.split('@')
    return throughput(byName.get(name as string) as Contender, one ? 1 : IN_FLIGHT, run, round >= 1)
  })
  const median = (run: string) => spread(results[run] ?? []).median
  const p50 = (run: string) => spread(p50s.get(run) ?? []).median
  for (const run of runs) {
    const s = spread(results[run] ?? [])
    const at = run.endsWith('@1') ? '1 in flight' : `${IN_FLIGHT} in flight`
    console.log(
      `${run.replace('@1', '').padEnd(24)} ${at.padEnd(15)} ${Math.round(s.median)} decisions/s (min ${Math.round(s.min)}, max ${Math.round(s.max)}), p50 ${(p50(run) * 1000).toFixed(1)} µs`,
    )
  }
  const ratios = (suffix: string, at: string) => {
    const d = `diana-1-rule${suffix}`
    const f = `rate-limiter-flexible${suffix}`
    console.log(
      `diana 1 rule / rate-limiter-flexible, ${at}: ${(median(d) / median(f)).toFixed(2)}x decisions/s, p50 ${(p50(d) * 1000).toFixed(1)} vs ${(p50(f) * 1000).toFixed(1)} µs (${(p50(f) / p50(d)).toFixed(2)}x)`,
    )
  }
  ratios('@1', '1 in flight')
  ratios('', `${IN_FLIGHT} in flight`)
  console.log(
    `cost of 4 rules vs 1 (time per check): ${(median('diana-1-rule') / median('diana-4-rules')).toFixed(2)}x`,
  )
  console.log(`degraded decisions during the runs (should be 0): ${degradedDuringRuns}`)
  console.log(`batched / unbatched: ${(median('diana-1-rule') / median('diana-unbatched')).toFixed(2)}x`)

  // A hung Redis: every check must come back within the command timeout (50 ms) plus scheduling.
  await hung.check(subject('0'))
  redis.pause()
  const latencies: number[] = []
  let degraded = 0
  const end = performance.now() + 1000
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, lane) => {
      let i = lane
      while (performance.now() < end) {
        const started = performance.now()
        const d = await hung.check(subject(String(i++ % KEYS)))
        latencies.push(performance.now() - started)
        if (d.degraded) degraded++
        // Degraded answers settle as microtasks; yield so timers run, as request I/O would.
        await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  redis.resume()
  latencies.sort((a, b) => a - b)
  const pct = (p: number) =>
    (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number).toFixed(2)
  console.log(
    `SIGSTOP for 1 s, ${IN_FLIGHT} in flight: ${latencies.length} checks, ${degraded} degraded, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${(latencies[latencies.length - 1] as number).toFixed(2)} ms`,
  )
  await hung.close()
  for (const contender of contenders) await contender.dispose([])
} finally {
  await redis.stop()
}
