/**
 * Diana's Redis store side by side with rate-limiter-flexible's RateLimiterRedis on the same
 * self-started redis-server, at 256 checks in flight, taking turns (bench/sampling.ts).
 * Also: 4 rules per check against 1, batching on and off, and check latency while Redis
 * is stopped with SIGSTOP.
 *
 *   node --import tsx bench/redis-store.ts [--seconds 1] [--samples 5]
 */
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { createLimiter, type Limiter } from '../src/limiter'
import type { Rule } from '../src/rules/rule'
import { RedisStore } from '../src/stores/redis/redis-store'
import { startRedis } from '../test/support/redis-server'
import { BENCH_LIMIT } from './contenders'
import { interleave, spread } from './sampling'

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

/** Decisions per second with IN_FLIGHT checks always outstanding, for SECONDS. */
async function throughput(check: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  let done = 0
  let n = 0
  const lane = async () => {
    while (performance.now() < end) {
      const decision = await check(n++)
      if ((decision as { degraded?: boolean }).degraded === true) degradedDuringRuns++
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return done / ((performance.now() - started) / 1000)
}

const redis = await startRedis()
try {
  const ioredis = () => new Redis(redis.url)
  const flexibleClient = ioredis()
  const flexible = new RateLimiterRedis({ storeClient: flexibleClient, points: BENCH_LIMIT, duration: 60 })
  const limiters: Record<string, Limiter> = {}
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
  limiters.one = diana([rule('account', 'account')], true)
  limiters.four = diana(
    [
      rule('global', 'global'),
      rule('account', 'account'),
      rule('device', 'device'),
      rule('resource', 'resource'),
    ],
    true,
  )
  limiters.unbatched = diana([rule('account', 'account')], false)
  // Defaults (commandTimeoutMs 50) for the hung-Redis measurement.
  limiters.hung = diana([rule('account', 'account')], true, 50)
  await Promise.all(stores.map((store) => store.ready()))

  const subject = (i: number) => ({
    account: `a${i % KEYS}`,
    device: `d${i % 997}`,
    resource: `/r${i % 13}`,
  })
  const contestants = ['rate-limiter-flexible', 'diana-1-rule', 'diana-4-rules', 'diana-unbatched'] as const
  const results = await interleave(contestants, { warmups: 1, samples: SAMPLES }, (contestant) => {
    switch (contestant) {
      case 'rate-limiter-flexible':
        return throughput((i) => flexible.consume(`a${i % KEYS}`))
      case 'diana-1-rule':
        return throughput((i) => (limiters.one as Limiter).check(subject(i)))
      case 'diana-4-rules':
        return throughput((i) => (limiters.four as Limiter).check(subject(i)))
      default:
        return throughput((i) => (limiters.unbatched as Limiter).check(subject(i)))
    }
  })
  const median = (c: (typeof contestants)[number]) => spread(results[c]).median
  for (const c of contestants) {
    const s = spread(results[c])
    console.log(
      `${c.padEnd(24)} ${Math.round(s.median)} decisions/s (min ${Math.round(s.min)}, max ${Math.round(s.max)})`,
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
  await (limiters.hung as Limiter).check(subject(0))
  redis.pause()
  const latencies: number[] = []
  let degraded = 0
  const end = performance.now() + 1000
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, lane) => {
      let i = lane
      while (performance.now() < end) {
        const started = performance.now()
        const d = await (limiters.hung as Limiter).check(subject(i++))
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
  await Promise.all(Object.values(limiters).map((limiter) => limiter.close()))
  flexibleClient.disconnect()
} finally {
  await redis.stop()
}
