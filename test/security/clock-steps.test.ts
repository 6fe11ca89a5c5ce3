/**
 * Issue 11, item 5: the wall clock steps back (NTP, VM migration, a Redis failover to a server
 * with another time) and maybe forward again. No key may be locked out for the length of the
 * step, no window may admit its limit twice, and `retryAfterMs` must be what it really takes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Decision } from '../../src/decision'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock, DEFAULT_START_MS, type FakeClock } from '../support/fake-clock'

const HOUR = 3_600_000

function limiterWith(rule: Omit<Rule, 'name' | 'dimension'>, start = DEFAULT_START_MS + 30_000) {
  const clock = createFakeClock(start)
  const limiter = createLimiter({
    rules: [{ name: 'r', dimension: 'global', ...rule } as Rule],
    clock,
    store: { type: 'memory', maxKeys: 16 },
  })
  return { limiter, clock }
}

async function admitted(limiter: Limiter, times: number): Promise<number> {
  let n = 0
  for (let i = 0; i < times; i++) if ((await limiter.check({})).allowed) n++
  return n
}

/**
 * After a denial, waits exactly `retryAfterMs` (checking 1 ms earlier that it still denies) and
 * returns whether the request then passes: `retryAfterMs` is honest iff this is true.
 */
async function retryIsHonest(limiter: Limiter, clock: FakeClock, denied: Decision): Promise<boolean> {
  expect(denied.allowed).toBe(false)
  expect(Number.isFinite(denied.retryAfterMs)).toBe(true)
  if (denied.retryAfterMs > 1) {
    clock.advance(denied.retryAfterMs - 1)
    if ((await limiter.check({})).allowed) return false
    clock.advance(1)
  } else clock.advance(denied.retryAfterMs)
  return (await limiter.check({})).allowed
}

/** Steps the clock 1 s at a time until a unit request passes; bounded to 3 hours. */
async function secondsDenied(limiter: Limiter, clock: FakeClock): Promise<number> {
  for (let s = 0; s <= 3 * 3600; s++) {
    if ((await limiter.check({})).allowed) return s
    clock.advance(1000)
  }
  return Number.POSITIVE_INFINITY
}

describe('a clock that steps back', () => {
  it('token bucket drained before a 1-hour step back: denied only until the next token, and retryAfterMs says so', async () => {
    // 5 per minute: one token every 12 s.
    const { limiter, clock } = limiterWith({ algorithm: 'token-bucket', limit: 5, window: '1m' })
    expect(await admitted(limiter, 5)).toBe(5)
    clock.set(clock() - HOUR)
    const denied = await limiter.check({})
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBe(12_000)
    expect(await secondsDenied(limiter, clock)).toBe(12)
    await limiter.close()
  })

  it('token bucket: a step back mints no tokens, and a denial after it tells the truth', async () => {
    const { limiter, clock } = limiterWith({ algorithm: 'token-bucket', limit: 5, window: '1m' })
    expect(await admitted(limiter, 5)).toBe(5)
    clock.set(clock() - 5 * 60_000)
    expect(await admitted(limiter, 5)).toBe(0)
    expect(await retryIsHonest(limiter, clock, await limiter.check({}))).toBe(true)
    await limiter.close()
  })

  // How long a window key may stay denied after a step back, in clock time: to the end of the
  // window the clock stepped back into (fixed), or until that window's count has decayed (sliding).
  const windowWait = { 'fixed-window': 60_000, 'sliding-window': 120_000 } as const
  for (const algorithm of ['fixed-window', 'sliding-window'] as const) {
    it(`${algorithm}: a key exhausted before a 1-hour step back is allowed again within ${windowWait[algorithm] / 60_000} min, and retryAfterMs says when`, async () => {
      const { limiter, clock } = limiterWith({ algorithm, limit: 5, window: '1m' })
      expect(await admitted(limiter, 5)).toBe(5)
      clock.set(clock() - HOUR)
      const denied = await limiter.check({})
      expect(denied.retryAfterMs).toBeLessThanOrEqual(windowWait[algorithm])
      expect(await retryIsHonest(limiter, clock, denied)).toBe(true)
      await limiter.close()
    })

    it(`${algorithm}: after a 1-hour step back an exhausted key waits at most ${windowWait[algorithm] / 60_000} min of clock time`, async () => {
      const { limiter, clock } = limiterWith({ algorithm, limit: 5, window: '1m' })
      expect(await admitted(limiter, 5)).toBe(5)
      clock.set(clock() - HOUR)
      expect(await secondsDenied(limiter, clock)).toBeLessThanOrEqual(windowWait[algorithm] / 1000)
      await limiter.close()
    })

    it(`${algorithm}: a step back and forward again admits L in the window, not 2L`, async () => {
      const { limiter, clock } = limiterWith({ algorithm, limit: 5, window: '1m' })
      const t0 = clock()
      expect(await admitted(limiter, 5)).toBe(5)
      clock.set(t0 - HOUR)
      // A step back is no time passing: the key is still in the window it used up.
      const duringStep = await admitted(limiter, 10)
      clock.set(t0 + 1000)
      const afterReturn = await admitted(limiter, 10)
      expect(duringStep).toBe(0)
      expect(afterReturn).toBe(0)
      await limiter.close()
    })

    it(`${algorithm}: what passes while the clock is behind counts against the window it will come back to`, async () => {
      const { limiter, clock } = limiterWith({ algorithm, limit: 5, window: '1m' })
      const t0 = clock()
      expect(await admitted(limiter, 2)).toBe(2)
      clock.set(t0 - HOUR)
      // Still the same window to the key: 3 more fit, then none.
      expect(await admitted(limiter, 10)).toBe(3)
      // Two windows later (clock time) the key has a fresh L there: no lockout for the step.
      clock.advance(2 * 60_000)
      expect(await admitted(limiter, 10)).toBe(5)
      // Back at t0's window: its L was used up, partly while the clock was behind.
      clock.set(t0 + 1000)
      expect(await admitted(limiter, 10)).toBe(0)
      const denied = await limiter.check({})
      expect(await retryIsHonest(limiter, clock, denied)).toBe(true)
      await limiter.close()
    })

    it(`${algorithm}: a denial during a step back gives the honest retryAfterMs`, async () => {
      const { limiter, clock } = limiterWith({ algorithm, limit: 5, window: '1m' })
      expect(await admitted(limiter, 5)).toBe(5)
      clock.set(clock() - 10 * 60_000)
      expect(await retryIsHonest(limiter, clock, await limiter.check({}))).toBe(true)
      await limiter.close()
    })

    it(`${algorithm}: a step back of one window waits for the window it used up, and says so`, async () => {
      const { limiter, clock } = limiterWith({ algorithm, limit: 5, window: '1m' })
      const t0 = clock()
      expect(await admitted(limiter, 5)).toBe(5)
      clock.set(t0 - 60_000)
      const denied = await limiter.check({})
      expect(await retryIsHonest(limiter, clock, denied)).toBe(true)
      // The wait reaches past the end of t0's window (in clock time), never into a fresh L before.
      expect(clock()).toBeGreaterThanOrEqual(Math.floor(t0 / 60_000 + 1) * 60_000)
      await limiter.close()
    })
  }

  it('fixed and sliding window: with the clock jumping back and forth, no window index admits more than L while it is the latest', async () => {
    const rules = fc.constantFrom<Omit<Rule, 'name' | 'dimension'>>(
      { algorithm: 'fixed-window', limit: 3, window: 1000 },
      { algorithm: 'sliding-window', limit: 4, window: 1000 },
      { algorithm: 'sliding-window', limit: 2, window: 7 },
    )
    const moves = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 400 }) },
        { weight: 1, arbitrary: fc.integer({ min: -5000, max: -1 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }) },
      ),
      { minLength: 1, maxLength: 60 },
    )
    await fc.assert(
      fc.asyncProperty(rules, moves, async (rule, steps) => {
        const { limiter, clock } = limiterWith(rule)
        const W = rule.window as number
        // The latest window index any check saw, and the units admitted since it became the
        // latest, wherever the clock was at the time.
        let latest = Number.NEGATIVE_INFINITY
        let charged = 0
        for (const dt of steps) {
          clock.set(clock() + dt)
          const k = Math.floor(clock() / W)
          if (k > latest) {
            latest = k
            charged = 0
          }
          if ((await limiter.check({})).allowed) {
            charged++
            // An admission in the latest window: everything since it began fits in L.
            if (k === latest) expect(charged).toBeLessThanOrEqual(rule.limit)
          }
        }
        await limiter.close()
      }),
      { numRuns: 200 },
    )
  })

  it('leaky bucket with a full queue before a 1-hour step back: denied for at most one interval T', async () => {
    // T = 100 ms, 2 may wait.
    const { limiter, clock } = limiterWith({ algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 2 })
    expect(await admitted(limiter, 4)).toBe(3)
    clock.set(clock() - HOUR)
    const denied = await limiter.check({})
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBe(100)
    expect(await retryIsHonest(limiter, clock, denied)).toBe(true)
    await limiter.close()
  })

  it('leaky bucket: a step back admits nothing by itself, and the way back forward at most the queue', async () => {
    const { limiter, clock } = limiterWith({
      algorithm: 'leaky-bucket',
      limit: 10,
      window: '1s',
      burst: 2,
      mode: 'police',
    })
    const t0 = clock()
    expect(await admitted(limiter, 4)).toBe(3)
    clock.set(t0 - HOUR)
    expect(await admitted(limiter, 4)).toBe(0)
    // A step forward cannot be told from idle time: the queue may have drained, no more.
    clock.set(t0)
    expect(await admitted(limiter, 4)).toBeLessThanOrEqual(3)
    await limiter.close()
  })

  it('every algorithm: with the clock jumping back and forth, each denial tells the honest retryAfterMs', async () => {
    const rules = fc.constantFrom<Omit<Rule, 'name' | 'dimension'>>(
      { algorithm: 'fixed-window', limit: 3, window: 1000 },
      { algorithm: 'sliding-window', limit: 4, window: 1000 },
      { algorithm: 'sliding-window', limit: 2, window: 7 },
      { algorithm: 'token-bucket', limit: 3, window: 1000, burst: 5 },
      { algorithm: 'leaky-bucket', limit: 4, window: 1000, burst: 2 },
      { algorithm: 'leaky-bucket', limit: 7, window: 3000, burst: 1, mode: 'police' },
    )
    const moves = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 400 }) },
        { weight: 1, arbitrary: fc.integer({ min: -HOUR, max: -1 }) },
        // Short steps back, into the windows just before the latest one.
        { weight: 1, arbitrary: fc.integer({ min: -3000, max: -1 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: HOUR }) },
      ),
      { minLength: 1, maxLength: 40 },
    )
    await fc.assert(
      fc.asyncProperty(rules, moves, async (rule, steps) => {
        const { limiter, clock } = limiterWith(rule)
        for (const dt of steps) {
          clock.set(clock() + dt)
          const decision = await limiter.check({})
          if (!decision.allowed) {
            // Buckets re-anchor at a step back: a unit request waits at most one refill or
            // what is queued. A window key waits at most for the window it is in and the next
            // (fixed), and the one after that (sliding), however far the clock stepped back.
            const W = rule.window as number
            const bound = rule.algorithm.endsWith('bucket')
              ? 3000
              : rule.algorithm === 'fixed-window'
                ? 2 * W
                : 3 * W
            expect(decision.retryAfterMs).toBeLessThanOrEqual(bound)
            expect(await retryIsHonest(limiter, clock, decision)).toBe(true)
          }
        }
        await limiter.close()
      }),
      { numRuns: 150 },
    )
  })
})
