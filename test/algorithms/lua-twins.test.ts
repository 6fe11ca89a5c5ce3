/**
 * House rule 1: every algorithm's Lua twin decides exactly like its TypeScript step. The same
 * (now, cost) sequences go through `step` and through the Redis store (with the test-only
 * clock, so both see the same `now`), and every verdict must match to the last bit.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { AlgorithmState, RuleVerdict } from '../../src/algorithm'
import { compileRules } from '../../src/rules/compile-rules'
import type { CompiledRule } from '../../src/rules/compiled-rule'
import type { Rule } from '../../src/rules/rule'
import { MemoryStore } from '../../src/stores/memory-store'
import { RedisStore } from '../../src/stores/redis/redis-store'
import { withTestClock } from '../../src/stores/redis/test-clock'
import { mulberry32 as random } from '../support/prng'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'

function compile(rules: Rule[]): CompiledRule[] {
  const result = compileRules(rules)
  if (!result.ok) throw new Error(JSON.stringify(result.issues))
  return result.rules
}

const RULES: Rule[] = [
  { name: 'fw', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: 1000 },
  { name: 'fw-odd', dimension: 'account', algorithm: 'fixed-window', limit: 3, window: 7 },
  { name: 'sw', dimension: 'account', algorithm: 'sliding-window', limit: 10, window: 1000 },
  { name: 'sw-odd', dimension: 'account', algorithm: 'sliding-window', limit: 3, window: 333 },
  { name: 'tb', dimension: 'account', algorithm: 'token-bucket', limit: 3, window: 1000 },
  { name: 'tb-burst', dimension: 'account', algorithm: 'token-bucket', limit: 5, window: 1000, burst: 10 },
  { name: 'tb-thin', dimension: 'account', algorithm: 'token-bucket', limit: 7, window: 3000, burst: 1 },
  { name: 'lb', dimension: 'account', algorithm: 'leaky-bucket', limit: 5, window: 1000 },
  { name: 'lb-queue', dimension: 'account', algorithm: 'leaky-bucket', limit: 3, window: 1000, burst: 4 },
  {
    name: 'lb-police',
    dimension: 'account',
    algorithm: 'leaky-bucket',
    limit: 10,
    window: 1000,
    burst: 2,
    mode: 'police',
  },
  // High rates with epoch-scale clocks: now·L is far past 2^53 here.
  {
    name: 'lb-fast',
    dimension: 'account',
    algorithm: 'leaky-bucket',
    limit: 100_000,
    window: 1000,
    burst: 1000,
    mode: 'police',
  },
  {
    name: 'lb-huge',
    dimension: 'account',
    algorithm: 'leaky-bucket',
    limit: Number.MAX_SAFE_INTEGER,
    window: 7,
    burst: 3,
  },
  { name: 'tb-fast', dimension: 'account', algorithm: 'token-bucket', limit: 999_983, window: 7919 },
  { name: 'cc', dimension: 'account', algorithm: 'concurrency', limit: 3, window: 1000 },
  // Slots narrower than 1 ms, and ones that are not whole ms.
  { name: 'cc-odd', dimension: 'account', algorithm: 'concurrency', limit: 5, window: 7 },
  { name: 'cc-wide', dimension: 'account', algorithm: 'concurrency', limit: 40, window: 86_400_001 },
]

/**
 * Gaps and costs that reach every branch: same ms, fractions of a window, idle periods, and a
 * clock that steps back (by up to `backWindows` windows, in a share `backShare` of the steps)
 * and forward again.
 */
function nextStep(
  rand: () => number,
  windowMs: number,
  backShare = 0.1,
  backWindows = 3,
): { dt: number; cost: number } {
  // Scaled so that the default shares are 30% same ms, 25% < 50 ms, 25% < W, 10% idle.
  const r = (rand() * 0.9) / (1 - backShare)
  const dt =
    r < 0.3
      ? 0
      : r < 0.55
        ? Math.floor(rand() * 50)
        : r < 0.8
          ? Math.floor(rand() * windowMs)
          : r < 0.9
            ? windowMs * backWindows
            : -Math.floor(rand() * windowMs * backWindows)
  const fractional = rand() < 0.1 ? 0.5 : 0
  const c = rand()
  const cost = c < 0.7 ? 1 : c < 0.8 ? 0 : c < 0.9 ? 2 : c < 0.95 ? 0.5 : 20
  return { dt: dt + fractional, cost }
}

let redis: RedisProcess
let now = 0
const clock = () => now
let stores: RedisStore[] = []

function redisStore(extra: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore {
  const store = new RedisStore(
    withTestClock(
      {
        type: 'redis',
        url: redis.url,
        keyPrefix: `twins${Math.floor(Math.random() * 1e9)}`,
        logger: false,
        commandTimeoutMs: 2000,
        ...extra,
      },
      clock,
    ),
    clock,
  )
  stores.push(store)
  return store
}

describeRedis('Lua twins decide exactly like the TypeScript steps', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()))
    stores = []
    await redis?.stop()
  })

  const cases = [
    ...RULES.map((rule) => ({ rule, backShare: 0.1, backWindows: 3 })),
    // Windows with the clock often behind, by up to 8 windows: every way of walking the
    // windows behind the highest one, and back to it.
    ...RULES.filter((rule) => rule.algorithm.endsWith('window')).map((rule) => ({
      rule,
      backShare: 0.3,
      backWindows: 8,
    })),
  ]
  for (const { rule, backShare, backWindows } of cases) {
    it(`${rule.algorithm} ${JSON.stringify({ limit: rule.limit, window: rule.window, burst: rule.burst, mode: rule.mode })}, ${backShare * 100}% steps back`, async () => {
      const [compiled] = compile([rule]) as [CompiledRule]
      const store = redisStore({ denialCache: false, batch: false })
      await store.ready()
      for (let seed = 1; seed <= 4; seed++) {
        const rand = random(seed * 7919 + rule.limit)
        now = 1_700_000_000_000 + Math.floor(rand() * 1e6)
        let state: AlgorithmState | undefined
        const subject = `seed${seed}`
        for (let n = 0; n < 120; n++) {
          const { dt, cost } = nextStep(rand, compiled.params.windowMs, backShare, backWindows)
          now += dt
          const expected = compiled.algorithm.step(state, { now, cost }, compiled.params)
          // As the stores do: a denial keeps a state its step moved on (never creates one).
          const moved = state !== undefined && expected.state.some((x, i) => x !== state?.[i])
          if (expected.decision.allowed || moved) state = expected.state
          const { verdicts } = await store.evaluate({ rules: [compiled], subjectKeys: [subject], cost })
          expect(verdicts[0], `seed ${seed}, step ${n}, now ${now}, cost ${cost}`).toEqual(expected.decision)
        }
      }
    })
  }

  // Refunds: each algorithm's Lua `refund` gives back exactly what its TypeScript `refund` does,
  // between checks, at window edges and with the clock stepping back: the verdicts that follow
  // must stay identical.
  for (const { rule, backShare, backWindows } of cases) {
    it(`refund: ${rule.name}, ${backShare * 100}% steps back`, async () => {
      const [compiled] = compile([rule]) as [CompiledRule]
      const refund = compiled.algorithm.refund
      if (refund === undefined) throw new Error(`${rule.algorithm} has no refund`)
      const store = redisStore({ denialCache: false, batch: false })
      await store.ready()
      for (let seed = 1; seed <= 3; seed++) {
        const rand = random(seed * 104_729 + rule.limit)
        now = 1_700_000_000_000 + Math.floor(rand() * 1e6)
        let state: AlgorithmState | undefined
        const subject = `refund${seed}`
        for (let n = 0; n < 120; n++) {
          const { dt, cost } = nextStep(rand, compiled.params.windowMs, backShare, backWindows)
          now += dt
          if (rand() < 0.35) {
            const back = rand() < 0.1 ? 1e12 : cost + Math.floor(rand() * 3)
            // How long ago the units were taken, as a release knows it (rate algorithms ignore it).
            const heldMs = rand() < 0.3 ? undefined : Math.floor(rand() * 2.5 * compiled.params.windowMs)
            state = refund(state, now, back, compiled.params, heldMs) ?? state
            await store.refund([compiled], [subject], back, heldMs)
            continue
          }
          const expected = compiled.algorithm.step(state, { now, cost }, compiled.params)
          const moved = state !== undefined && expected.state.some((x, i) => x !== state?.[i])
          if (expected.decision.allowed || moved) state = expected.state
          const { verdicts } = await store.evaluate({ rules: [compiled], subjectKeys: [subject], cost })
          expect(verdicts[0], `seed ${seed}, step ${n}, now ${now}, cost ${cost}`).toEqual(expected.decision)
        }
      }
    })
  }

  for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
    it(`${algorithm}: a key written while the clock is behind outlives the step: Redis keeps it until the high window is over`, async () => {
      const [compiled] = compile([
        { name: 'back', dimension: 'account', algorithm, limit: 2, window: '1m' },
      ]) as [CompiledRule]
      const store = redisStore({ denialCache: false, batch: false })
      await store.ready()
      const raw = new Redis(redis.url)
      try {
        const t0 = 1_700_000_030_000
        const check = async (at: number) => {
          now = at
          const { verdicts } = await store.evaluate({ rules: [compiled], subjectKeys: ['k'], cost: 1 })
          return (verdicts[0] as RuleVerdict).allowed
        }
        expect(await check(t0)).toBe(true)
        // Two days behind (longer than the test clock's floor of one day on key expiry), a
        // window later: the key passes there, and its state must last until t0's window is over.
        const back = t0 - 2 * 86_400_000 + 60_000
        expect(await check(back)).toBe(true)
        const [key] = await raw.keys('*{back|k}*')
        const ttl = await raw.pttl(key as string)
        const needed = (Math.floor(t0 / 60_000) + 1) * 60_000 - back
        expect(ttl).toBeGreaterThanOrEqual(needed - 5000)
      } finally {
        raw.disconnect()
      }
    })
  }

  it('all-or-nothing across rules, shadow rules and batched concurrent checks match the memory store', async () => {
    const rules = compile([
      { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 20, window: 1000, burst: 30 },
      { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: 6, window: 1000 },
      { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 4, window: 500 },
      {
        name: 'shadow',
        dimension: 'account',
        algorithm: 'fixed-window',
        limit: 2,
        window: 1000,
        shadow: true,
      },
      { name: 'queue', dimension: 'resource', algorithm: 'leaky-bucket', limit: 10, window: 1000, burst: 3 },
    ])
    const memory = new MemoryStore({}, clock)
    // Denial cache on: its answers must be the ones Redis would give.
    const store = redisStore()
    await store.ready()
    const rand = random(42)
    now = 1_700_000_123_456
    const accounts = ['a', 'b', 'c']
    const devices = ['d1', 'd2']
    for (let round = 0; round < 60; round++) {
      now += Math.floor(rand() * 120)
      // A burst of concurrent checks: the store batches them into one script call.
      const burst = 1 + Math.floor(rand() * 12)
      const requests = Array.from({ length: burst }, () => {
        const account = accounts[Math.floor(rand() * accounts.length)] as string
        const device = devices[Math.floor(rand() * devices.length)] as string
        const applicable = rules.filter((_, i) => i !== 4 || rand() < 0.5)
        const subjectKeys = applicable.map((rule) =>
          rule.name === 'global'
            ? ''
            : rule.name === 'device'
              ? device
              : rule.name === 'queue'
                ? '/buy'
                : account,
        )
        return { rules: applicable, subjectKeys, cost: rand() < 0.9 ? 1 : 2 }
      })
      const expected = requests.map((request) => memory.evaluate(request).verdicts)
      const actual = await Promise.all(requests.map((request) => store.evaluate(request)))
      actual.forEach((evaluation, i) => {
        expect(evaluation.degraded).toBe(false)
        expect(evaluation.verdicts as RuleVerdict[], `round ${round}, request ${i}`).toEqual(expected[i])
      })
    }
  })
})
