/**
 * Diana's Redis store side by side with rate-limiter-flexible's RateLimiterRedis on the same
 * self-started redis-server, at 256 checks in flight, taking turns (bench/sampling.ts).
 * Also: 4 rules per check against 1, batching on and off, and check latency while Redis
 * is stopped with SIGSTOP.
 *
 *   node --import tsx scripts/bench/redis-store.ts [--seconds 1] [--samples 5]
 */
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { Contender } from '../../bench/contender'
import { BENCH_LIMIT, BENCH_WINDOW_S } from '../../bench/quota'
import { startRedis } from '../../bench/redis-server'
import { interleave, spread } from '../../bench/sampling'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { RedisStore } from '../../src/stores/redis/redis-store'

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

/** Decisions per second with IN_FLIGHT checks always outstanding over KEYS keys, for SECONDS. */
async function throughput(contender: Contender): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  let done = 0
  let n = 0
  const lane = async () => {
    while (performance.now() < end) {
      const answer = await contender.check(String(n++ % KEYS))
      if (contender.degraded?.(answer)) degradedDuringRuns++
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return done / ((performance.now() - started) / 1000)
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
  const results = await interleave(
    contenders.map((c) => c.name),
    { warmups: 1, samples: SAMPLES },
    (name) => throughput(byName.get(name) as Contender),
  )
  const median = (name: string) => spread(results[name] ?? []).median
  for (const { name } of contenders) {
    const s = spread(results[name] ?? [])
    console.log(
      `${name.padEnd(24)} ${Math.round(s.median)} decisions/s (min ${Math.round(s.min)}, max ${Math.round(s.max)})`,
    )
  }
  console.log(
    `diana 1 rule / rate-limiter-flexible: ${(median('diana-1-rule') / median('rate-limiter-flexible')).toFixed(2)}x`,
  )
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
