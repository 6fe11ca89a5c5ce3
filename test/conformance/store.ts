import { afterEach, describe, expect, it } from 'vitest'
import type { Clock } from '../../src/clock'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Store } from '../../src/stores/store'
import type { Subject } from '../../src/types'
import { createFakeClock, DEFAULT_START_MS } from '../support/fake-clock'
import { type Random, seededRandom, uniqueSuffix } from '../support/prng'
import { type ModelRule, ReferenceLimiter, windowMsOf } from '../support/reference-models'
import { Twin } from './twin'

export interface DescribeStoreOptions {
  /** A reason to skip the whole suite (e.g. "redis-server not installed"); printed in the title. */
  skip?: string
  /** Per-test timeout in ms, for stores across a network. @default 20_000 */
  timeoutMs?: number
}

const DAY = 86_400_000

/**
 * The behaviour every store must show, run through `createLimiter` exactly as users call it.
 * Store-agnostic on purpose: each test uses fresh rule names and subject values (a random
 * suffix), reads nothing but Decisions, and keeps to a few hundred checks, so the same suite
 * runs unchanged against the memory store, a single Redis and a Redis Cluster. The store must
 * read time from the clock it is given.
 */
export function describeStore(
  name: string,
  makeStore: (clock: Clock) => Store | Promise<Store>,
  options: DescribeStoreOptions = {},
): void {
  const title = options.skip
    ? `store conformance: ${name} (SKIPPED: ${options.skip})`
    : `store conformance: ${name}`
  describe.skipIf(options.skip !== undefined)(title, { timeout: options.timeoutMs ?? 20_000 }, () => {
    let limiters: Limiter[] = []
    afterEach(async () => {
      const open = limiters
      limiters = []
      await Promise.all(open.map((limiter) => limiter.close()))
    })

    /** Rules renamed with this test's suffix; the model sees the same names. */
    async function twinFor(rules: ModelRule[], startMs = DEFAULT_START_MS, label = 'scenario') {
      const clock = createFakeClock(startMs)
      const store = await makeStore(clock)
      const limiter = createLimiter({ rules, store, clock })
      limiters.push(limiter)
      return new Twin(clock, limiter, new ReferenceLimiter(rules), label)
    }

    function names(...bases: string[]): string[] {
      const suffix = uniqueSuffix()
      return bases.map((base) => `${base}-${suffix}`)
    }

    const someone = (): Subject => ({ account: `acct-${uniqueSuffix()}` })

    describe('every algorithm agrees with the reference model under seeded random traffic', () => {
      const cases: Array<[string, Omit<ModelRule, 'name' | 'dimension'>]> = [
        ['fixed 5/1s', { algorithm: 'fixed-window', limit: 5, window: '1s' }],
        ['fixed 3/7ms (many edges)', { algorithm: 'fixed-window', limit: 3, window: 7 }],
        ['fixed 50/1m', { algorithm: 'fixed-window', limit: 50, window: '1m' }],
        ['sliding 10/1s', { algorithm: 'sliding-window', limit: 10, window: '1s' }],
        ['sliding 7/3s (fractional weights)', { algorithm: 'sliding-window', limit: 7, window: '3s' }],
        ['sliding 100/1m', { algorithm: 'sliding-window', limit: 100, window: '1m' }],
        ['token 10/1s', { algorithm: 'token-bucket', limit: 10, window: '1s' }],
        [
          'token 3/1s burst 7 (fractional rate)',
          { algorithm: 'token-bucket', limit: 3, window: '1s', burst: 7 },
        ],
        ['token 5/1m burst 1', { algorithm: 'token-bucket', limit: 5, window: '1m', burst: 1 }],
        ['leaky 10/1s queue 0', { algorithm: 'leaky-bucket', limit: 10, window: '1s' }],
        ['leaky 10/1s queue 5', { algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5 }],
        [
          'leaky 4/1s queue 3 police',
          { algorithm: 'leaky-bucket', limit: 4, window: '1s', burst: 3, mode: 'police' },
        ],
        [
          'leaky 3/1s queue 2 (fractional interval)',
          { algorithm: 'leaky-bucket', limit: 3, window: '1s', burst: 2 },
        ],
        ['concurrency 3/1s', { algorithm: 'concurrency', limit: 3, window: '1s' }],
        ['concurrency 5/7ms (slots under 1 ms)', { algorithm: 'concurrency', limit: 5, window: 7 }],
        ['concurrency 20/1m', { algorithm: 'concurrency', limit: 20, window: '1m' }],
      ]
      cases.forEach(([label, params], index) => {
        it(label, async () => {
          const seed = 1000 + index
          const [rule] = names('random')
          const twin = await twinFor(
            [{ name: rule as string, dimension: 'account', ...params }],
            DEFAULT_START_MS + seed * 7919,
            `${label} seed=${seed}`,
          )
          const subjects = [someone(), someone()]
          await randomTraffic(twin, seededRandom(seed), params, subjects, 220)
        })
      })
    })

    describe('bursts and costs', () => {
      it('fixed window: a burst takes exactly L units, then denies until the window ends', async () => {
        const [rule] = names('fixed')
        const twin = await twinFor(
          [{ name: rule as string, dimension: 'global', algorithm: 'fixed-window', limit: 5, window: '1s' }],
          1000 * 1_700_000_000 + 250,
        )
        const remaining: number[] = []
        for (let i = 0; i < 5; i++) remaining.push((await twin.check({})).remaining)
        expect(remaining).toEqual([4, 3, 2, 1, 0])
        const denied = await twin.check({})
        expect(denied).toMatchObject({ allowed: false, remaining: 0, resetMs: 750, retryAfterMs: 750 })
        await twin.probeRetry({}, 1, denied)
      })

      it('costs > 1 are counted as units and a cost that cannot fit is denied without consuming', async () => {
        const [rule] = names('cost')
        const twin = await twinFor([
          { name: rule as string, dimension: 'global', algorithm: 'fixed-window', limit: 10, window: '1m' },
        ])
        expect(await twin.check({}, 4)).toMatchObject({ allowed: true, remaining: 6 })
        expect(await twin.check({}, 7)).toMatchObject({ allowed: false, remaining: 6 })
        expect(await twin.check({}, 6)).toMatchObject({ allowed: true, remaining: 0 })
        // More than L can never pass: no finite wait is promised.
        expect((await twin.check({}, 11)).retryAfterMs).toBe(Number.POSITIVE_INFINITY)
      })

      it('token bucket: a full bucket lets B through at once, then refills at L/W up to B', async () => {
        const [rule] = names('token')
        const twin = await twinFor([
          {
            name: rule as string,
            dimension: 'global',
            algorithm: 'token-bucket',
            limit: 2,
            window: '1s',
            burst: 10,
          },
        ])
        for (let i = 0; i < 10; i++) expect((await twin.check({})).remaining).toBe(9 - i)
        const denied = await twin.check({})
        // One token takes W/L = 500 ms; the bucket is full again after 10 of them.
        expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 500, resetMs: 5000 })
        twin.clock.advance(2500) // five tokens back
        for (let i = 0; i < 5; i++) expect((await twin.check({})).allowed).toBe(true)
        expect((await twin.check({})).allowed).toBe(false)
        twin.clock.advance(100 * 1000) // far more than B worth of refill: capped at B
        for (let i = 0; i < 10; i++) expect((await twin.check({})).allowed).toBe(true)
        const capped = await twin.check({})
        expect(capped.allowed).toBe(false)
        await twin.probeRetry({}, 1, capped)
        // Cost 3 needs three tokens: 1500 ms after the bucket is emptied.
        const big = await twin.check({}, 3)
        expect(big).toMatchObject({ allowed: false, retryAfterMs: 1500 })
        await twin.probeRetry({}, 3, big)
        expect((await twin.check({}, 11)).retryAfterMs).toBe(Number.POSITIVE_INFINITY)
      })

      it('leaky bucket: a burst is shaped into delays T apart, at most B wait, the rest is denied', async () => {
        const [rule] = names('leaky')
        const twin = await twinFor([
          {
            name: rule as string,
            dimension: 'global',
            algorithm: 'leaky-bucket',
            limit: 10,
            window: '1s',
            burst: 3,
          },
        ])
        const delays: number[] = []
        for (let i = 0; i < 4; i++) {
          const d = await twin.check({})
          expect(d.allowed).toBe(true)
          delays.push(d.delayMs)
        }
        expect(delays).toEqual([0, 100, 200, 300])
        const denied = await twin.check({})
        expect(denied).toMatchObject({ allowed: false, delayMs: 0, retryAfterMs: 100, resetMs: 400 })
        const passed = await twin.probeRetry({}, 1, denied)
        expect(passed.delayMs).toBe(300)
        // Cost 2 occupies the queue for 2T.
        twin.clock.advance(10_000)
        expect((await twin.check({}, 2)).delayMs).toBe(0)
        expect((await twin.check({})).delayMs).toBe(200)
      })

      it('leaky bucket police mode admits the same requests but never delays them', async () => {
        const [shape, police] = names('shape', 'police')
        const base = {
          dimension: 'account',
          algorithm: 'leaky-bucket',
          limit: 10,
          window: '1s',
          burst: 3,
        } as const
        const a = await twinFor([{ name: shape as string, ...base }])
        const b = await twinFor([{ name: police as string, ...base, mode: 'police' }])
        const random = seededRandom(7)
        const who = someone()
        for (let i = 0; i < 120; i++) {
          const gap = random.pick([0, 0, 10, 50, 100, 250])
          a.clock.advance(gap)
          b.clock.advance(gap)
          const shaped = await a.check(who)
          const policed = await b.check(who)
          expect(policed.allowed).toBe(shaped.allowed)
          expect(policed.delayMs).toBe(0)
        }
      })
    })

    describe('windows and time', () => {
      it('fixed windows are aligned to the epoch, not to the first request', async () => {
        const hour = 3_600_000
        const [rule] = names('hourly')
        const lastMs = 472_222 * hour + hour - 1
        const twin = await twinFor(
          [{ name: rule as string, dimension: 'global', algorithm: 'fixed-window', limit: 2, window: '1h' }],
          lastMs,
        )
        expect(await twin.check({})).toMatchObject({ allowed: true, resetMs: 1 })
        expect((await twin.check({})).allowed).toBe(true)
        const denied = await twin.check({})
        expect(denied).toMatchObject({ allowed: false, retryAfterMs: 1 })
        twin.clock.advance(1) // a new hour: the whole quota again, even 1 ms after the last use
        expect(await twin.check({})).toMatchObject({ allowed: true, remaining: 1, resetMs: hour })
      })

      it('fixed window admits up to 2L around an edge (the documented weakness), never more', async () => {
        const [rule] = names('edge')
        const W = 1000
        const twin = await twinFor(
          [{ name: rule as string, dimension: 'global', algorithm: 'fixed-window', limit: 4, window: W }],
          1_700_000_000 * W + W - 1,
        )
        let admitted = 0
        for (let i = 0; i < 6; i++) if ((await twin.check({})).allowed) admitted++
        twin.clock.advance(1)
        for (let i = 0; i < 6; i++) if ((await twin.check({})).allowed) admitted++
        expect(admitted).toBe(8)
      })

      it('sliding window: retryAfterMs follows the previous window decaying, not the window end', async () => {
        const [rule] = names('sliding')
        const W = 1000
        const k = 1_700_000_000
        const twin = await twinFor(
          [{ name: rule as string, dimension: 'global', algorithm: 'sliding-window', limit: 10, window: W }],
          k * W,
        )
        for (let i = 0; i < 10; i++) expect((await twin.check({})).allowed).toBe(true)
        twin.clock.set((k + 1) * W + 300) // previous window weighs 0.7: estimate 7
        for (let i = 0; i < 3; i++) expect((await twin.check({})).allowed).toBe(true)
        const denied = await twin.check({})
        // 10·(1 - f) + 3 + 1 <= 10 needs f >= 0.4, i.e. 100 ms from now; the window ends in 700.
        expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 100, resetMs: 1700 })
        await twin.probeRetry({}, 1, denied)
        // A cost that the current window's own count blocks waits into the next window.
        const big = await twin.check({}, 7)
        expect(big.allowed).toBe(false)
        expect(big.retryAfterMs).toBeGreaterThan(W - 400)
        await twin.probeRetry({}, 7, big)
      })

      it('sliding window: random denials are retried exactly at retryAfterMs across fractional weights', async () => {
        const [rule] = names('decay')
        const twin = await twinFor(
          [
            {
              name: rule as string,
              dimension: 'global',
              algorithm: 'sliding-window',
              limit: 7,
              window: 3000,
            },
          ],
          DEFAULT_START_MS + 17,
        )
        const random = seededRandom(99)
        let probes = 0
        for (let i = 0; i < 150 && probes < 25; i++) {
          twin.clock.advance(random.pick([0, 0, 37, 211, 999, 1499, 2999]))
          const cost = random.pick([1, 1, 1, 2, 3])
          const d = await twin.check({}, cost)
          if (!d.allowed) {
            probes++
            await twin.probeRetry({}, cost, d)
          }
        }
        expect(probes).toBeGreaterThan(5)
      })

      it.each([
        ['fixed-window', '30d'],
        ['fixed-window', '400d'],
        ['sliding-window', '30d'],
        ['sliding-window', '400d'],
        ['token-bucket', '30d'],
        ['token-bucket', '400d'],
        ['leaky-bucket', '30d'],
        ['leaky-bucket', '400d'],
      ] as const)(
        '%s with a %s window (longer than 24.8 days) keeps state and retries on time',
        async (algorithm, window) => {
          const [rule] = names('long')
          const W = windowMsOf(window)
          const twin = await twinFor(
            [{ name: rule as string, dimension: 'account', algorithm, limit: 1, window }],
            Math.floor(DEFAULT_START_MS / W) * W + 60_000,
          )
          const who = someone()
          expect((await twin.check(who)).allowed).toBe(true)
          twin.clock.advance(60_000)
          const denied = await twin.check(who)
          expect(denied.allowed).toBe(false)
          expect(denied.retryAfterMs).toBeGreaterThan(2 ** 31) // beyond what a setTimeout can hold
          await twin.probeRetry(who, 1, denied)
          twin.clock.advance(DAY)
          await twin.check(who)
          twin.clock.advance(3 * W) // long idle: the quota is whole again
          expect(await twin.check(who)).toMatchObject({ allowed: true, remaining: 0 })
        },
      )

      it('a 30-day sliding window reports remaining consistent with the decision 1 ms before the boundary', async () => {
        const [rule] = names('month')
        const W = windowMsOf('30d')
        const k = Math.floor(DEFAULT_START_MS / W)
        const twin = await twinFor(
          [
            {
              name: rule as string,
              dimension: 'global',
              algorithm: 'sliding-window',
              limit: 2,
              window: '30d',
            },
          ],
          k * W,
        )
        await twin.check({})
        await twin.check({})
        // Half-way through the next window the estimate is 1; one ms earlier it is just above 1.
        twin.clock.set((k + 1) * W + W / 2 - 1)
        expect(await twin.check({})).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 1 })
        twin.clock.advance(1)
        expect(await twin.check({})).toMatchObject({ allowed: true, remaining: 0 })
      })
    })

    describe('several rules', () => {
      it('all or nothing: a request denied by one rule consumes nothing in any rule', async () => {
        const [perAccount, perDevice] = names('per-account', 'per-device')
        const twin = await twinFor([
          {
            name: perAccount as string,
            dimension: 'account',
            algorithm: 'fixed-window',
            limit: 5,
            window: '1m',
          },
          {
            name: perDevice as string,
            dimension: 'device',
            algorithm: 'token-bucket',
            limit: 3,
            window: '1m',
          },
        ])
        const account = `a-${uniqueSuffix()}`
        for (let i = 0; i < 3; i++) expect((await twin.check({ account, device: 'd1' })).allowed).toBe(true)
        for (let i = 0; i < 4; i++) {
          expect(await twin.check({ account, device: 'd1' })).toMatchObject({
            allowed: false,
            rule: perDevice,
          })
        }
        // The four denials above took nothing from the account quota: 2 of 5 are left.
        expect(await twin.check({ account, device: 'd2' })).toMatchObject({
          allowed: true,
          rule: perAccount,
          remaining: 1,
        })
        expect(await twin.check({ account, device: 'd2' })).toMatchObject({ allowed: true, remaining: 0 })
        expect(await twin.check({ account, device: 'd3' })).toMatchObject({
          allowed: false,
          rule: perAccount,
        })
        // ...and the account's denial took nothing from the fresh device d3.
        expect(await twin.check({ account: `b-${uniqueSuffix()}`, device: 'd3' })).toMatchObject({
          allowed: true,
          rule: perDevice,
          remaining: 2,
        })
      })

      it('all or nothing holds for every algorithm pair under random traffic', async () => {
        const [a, b, c, d] = names('fw', 'sw', 'tb', 'lb')
        const twin = await twinFor(
          [
            { name: a as string, dimension: 'account', algorithm: 'fixed-window', limit: 6, window: '1s' },
            { name: b as string, dimension: 'device', algorithm: 'sliding-window', limit: 5, window: '2s' },
            {
              name: c as string,
              dimension: ['account', 'device'],
              algorithm: 'token-bucket',
              limit: 4,
              window: '1s',
              burst: 3,
            },
            {
              name: d as string,
              dimension: 'global',
              algorithm: 'leaky-bucket',
              limit: 20,
              window: '1s',
              burst: 4,
            },
          ],
          DEFAULT_START_MS + 123,
          'four rules',
        )
        const random = seededRandom(4242)
        const accounts = [`x-${uniqueSuffix()}`, `y-${uniqueSuffix()}`]
        const devices = [`p-${uniqueSuffix()}`, `q-${uniqueSuffix()}`]
        for (let i = 0; i < 250; i++) {
          twin.clock.advance(random.pick([0, 0, 0, 10, 50, 120, 400, 1100]))
          const subject: Subject = {}
          if (random.chance(0.8)) subject.account = random.pick(accounts)
          if (random.chance(0.8)) subject.device = random.pick(devices)
          const cost = random.pick([1, 1, 1, 1, 2, 3])
          const decision = await twin.check(subject, cost)
          if (!decision.allowed && Number.isFinite(decision.retryAfterMs) && random.chance(0.2)) {
            await twin.probeRetry(subject, cost, decision)
          }
        }
      })

      it('concurrency: a check denied by a fixed-window rule on another dimension takes no permit', async () => {
        const [permits, perAccount] = names('in-flight', 'per-account')
        const twin = await twinFor([
          { name: permits as string, dimension: 'global', algorithm: 'concurrency', limit: 3, window: '1m' },
          {
            name: perAccount as string,
            dimension: 'account',
            algorithm: 'fixed-window',
            limit: 1,
            window: '1h',
          },
        ])
        const busy = someone()
        expect((await twin.check(busy)).allowed).toBe(true)
        for (let i = 0; i < 5; i++) {
          expect(await twin.check(busy)).toMatchObject({ allowed: false, rule: perAccount })
        }
        // Only the admitted check holds a permit: two are left for other accounts.
        expect((await twin.check(someone())).allowed).toBe(true)
        expect((await twin.check(someone())).allowed).toBe(true)
        expect(await twin.check(someone())).toMatchObject({ allowed: false, rule: permits })
      })

      it('concurrency with every other algorithm: all or nothing under random traffic', async () => {
        const [a, b, c, d, e] = names('cc', 'fw', 'sw', 'tb', 'lb')
        const twin = await twinFor(
          [
            { name: a as string, dimension: 'global', algorithm: 'concurrency', limit: 6, window: '2s' },
            { name: b as string, dimension: 'account', algorithm: 'fixed-window', limit: 4, window: '1s' },
            { name: c as string, dimension: 'device', algorithm: 'sliding-window', limit: 5, window: '2s' },
            { name: d as string, dimension: 'account', algorithm: 'token-bucket', limit: 3, window: '1s' },
            {
              name: e as string,
              dimension: 'device',
              algorithm: 'leaky-bucket',
              limit: 10,
              window: '1s',
              burst: 2,
            },
          ],
          DEFAULT_START_MS + 321,
          'concurrency and four rules',
        )
        const random = seededRandom(2424)
        const accounts = [`x-${uniqueSuffix()}`, `y-${uniqueSuffix()}`]
        const devices = [`p-${uniqueSuffix()}`, `q-${uniqueSuffix()}`]
        for (let i = 0; i < 200; i++) {
          twin.clock.advance(random.pick([0, 0, 0, 10, 50, 120, 400, 1100]))
          const subject: Subject = {}
          if (random.chance(0.8)) subject.account = random.pick(accounts)
          if (random.chance(0.8)) subject.device = random.pick(devices)
          if (random.chance(0.15)) await twin.refund(subject, 1, a)
          const cost = random.pick([1, 1, 1, 1, 2, 3])
          const decision = await twin.check(subject, cost)
          if (!decision.allowed && Number.isFinite(decision.retryAfterMs) && random.chance(0.2)) {
            await twin.probeRetry(subject, cost, decision)
          }
        }
      })

      it('binding rule: allowed reports the least remaining, ties go to the rule listed first', async () => {
        const [first, second] = names('first', 'second')
        const rule = (name: string, limit: number): ModelRule => ({
          name,
          dimension: 'global',
          algorithm: 'fixed-window',
          limit,
          window: '1m',
        })
        const tie = await twinFor([rule(first as string, 3), rule(second as string, 3)])
        expect((await tie.check({})).rule).toBe(first)
        const swapped = await twinFor([rule(second as string, 3), rule(first as string, 3)])
        expect((await swapped.check({})).rule).toBe(second)
        const tighter = await twinFor([rule(first as string, 10), rule(second as string, 2)])
        expect(await tighter.check({})).toMatchObject({ rule: second, limit: 2, remaining: 1 })
      })

      it('binding rule: when several deny, the one with the longest wait binds; equal waits go to the first', async () => {
        const [perSecond, perMinute, alsoPerSecond] = names('per-second', 'per-minute', 'also-per-second')
        const twin = await twinFor(
          [
            {
              name: perSecond as string,
              dimension: 'global',
              algorithm: 'fixed-window',
              limit: 1,
              window: '1s',
            },
            {
              name: perMinute as string,
              dimension: 'global',
              algorithm: 'fixed-window',
              limit: 1,
              window: '1m',
            },
            {
              name: alsoPerSecond as string,
              dimension: 'global',
              algorithm: 'fixed-window',
              limit: 1,
              window: '1s',
            },
          ],
          60_000 * 28_333_333,
        )
        await twin.check({})
        const denied = await twin.check({})
        expect(denied).toMatchObject({ allowed: false, rule: perMinute, retryAfterMs: 60_000 })
        const [a, b] = names('a', 'b')
        const tie = await twinFor(
          [
            { name: a as string, dimension: 'global', algorithm: 'fixed-window', limit: 1, window: '1s' },
            { name: b as string, dimension: 'global', algorithm: 'fixed-window', limit: 1, window: '1s' },
          ],
          1000 * 1_700_000_000,
        )
        await tie.check({})
        expect((await tie.check({})).rule).toBe(a)
      })

      it('shadow rules count and report but never deny', async () => {
        const [shadow, real] = names('shadow', 'real')
        const twin = await twinFor([
          {
            name: shadow as string,
            dimension: 'global',
            algorithm: 'fixed-window',
            limit: 2,
            window: '1m',
            shadow: true,
          },
          { name: real as string, dimension: 'global', algorithm: 'fixed-window', limit: 5, window: '1m' },
        ])
        for (let i = 0; i < 2; i++) expect((await twin.check({})).shadowDenied).toBeUndefined()
        for (let i = 0; i < 3; i++) {
          expect(await twin.check({})).toMatchObject({ allowed: true, rule: real, shadowDenied: [shadow] })
        }
        expect(await twin.check({})).toMatchObject({ allowed: false, rule: real })
      })

      it('a shadow rule alone never denies and still reports its own quota', async () => {
        const [shadow] = names('shadow-only')
        const twin = await twinFor([
          {
            name: shadow as string,
            dimension: 'account',
            algorithm: 'token-bucket',
            limit: 2,
            window: '1m',
            shadow: true,
          },
        ])
        const who = someone()
        for (let i = 0; i < 5; i++) {
          expect(await twin.check(who)).toMatchObject({ allowed: true, rule: shadow, retryAfterMs: 0 })
        }
      })
    })

    describe('which rules apply', () => {
      it('a rule applies only when every dimension it names is present', async () => {
        const [both] = names('both')
        const twin = await twinFor([
          {
            name: both as string,
            dimension: ['account', 'device'],
            algorithm: 'fixed-window',
            limit: 1,
            window: '1m',
          },
        ])
        const account = `a-${uniqueSuffix()}`
        expect((await twin.check({ account })).rule).toBeUndefined()
        expect((await twin.check({ device: 'd' })).rule).toBeUndefined()
        expect((await twin.check({ account, device: 'd' })).allowed).toBe(true)
        expect((await twin.check({ account, device: 'd' })).allowed).toBe(false)
        expect((await twin.check({ account, device: 'e' })).allowed).toBe(true)
      })

      it('match globs and methods: /api/seckill/** covers /api/seckill and deeper paths, POST only', async () => {
        const [seckill] = names('seckill')
        const twin = await twinFor([
          {
            name: seckill as string,
            dimension: 'resource',
            match: { path: '/api/seckill/**', methods: ['POST'] },
            algorithm: 'fixed-window',
            limit: 100,
            window: '1m',
          },
        ])
        const applies = async (resource: string, method?: string) =>
          (await twin.check({ resource, method })).rule === seckill
        expect(await applies('/api/seckill', 'POST')).toBe(true)
        expect(await applies('/api/seckill/42', 'POST')).toBe(true)
        expect(await applies('/api/seckill/42/buy', 'post')).toBe(true)
        expect(await applies('/api/seckillx', 'POST')).toBe(false)
        expect(await applies('/api/seckill-other/1', 'POST')).toBe(false)
        expect(await applies('/api/other', 'POST')).toBe(false)
        expect(await applies('/api/seckill/42', 'GET')).toBe(false)
        expect(await applies('/api/seckill/42')).toBe(false)
      })

      it('single-star globs stay within one segment and lists of globs are alternatives', async () => {
        const [items] = names('items')
        const twin = await twinFor([
          {
            name: items as string,
            dimension: 'global',
            match: { path: ['/items/*', '/orders/*/pay'] },
            algorithm: 'fixed-window',
            limit: 100,
            window: '1m',
          },
        ])
        const applies = async (resource: string) => (await twin.check({ resource })).rule === items
        expect(await applies('/items/1')).toBe(true)
        expect(await applies('/items/1/2')).toBe(false)
        expect(await applies('/items')).toBe(false)
        expect(await applies('/orders/9/pay')).toBe(true)
        expect(await applies('/orders/9/refund')).toBe(false)
      })

      it('no applicable rule: allowed, no rule, unlimited', async () => {
        const [rule] = names('accounts-only')
        const twin = await twinFor([
          { name: rule as string, dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1s' },
        ])
        const decision = await twin.check({ device: 'd', resource: '/x', method: 'GET' })
        expect({ ...decision }).toEqual({
          allowed: true,
          rule: undefined,
          limit: Number.POSITIVE_INFINITY,
          remaining: Number.POSITIVE_INFINITY,
          resetMs: 0,
          retryAfterMs: 0,
          delayMs: 0,
          degraded: false,
        })
      })

      it('subjects are counted apart: one account exhausted leaves another untouched', async () => {
        const [rule] = names('isolated')
        const twin = await twinFor([
          { name: rule as string, dimension: 'account', algorithm: 'sliding-window', limit: 2, window: '1m' },
        ])
        const [a, b] = [someone(), someone()]
        await twin.check(a)
        await twin.check(a)
        expect((await twin.check(a)).allowed).toBe(false)
        expect(await twin.check(b)).toMatchObject({ allowed: true, remaining: 1 })
      })
    })

    describe('peek, reset, refund and blockFor', () => {
      const algorithms: Array<[string, Omit<ModelRule, 'name' | 'dimension'>]> = [
        ['fixed-window', { algorithm: 'fixed-window', limit: 5, window: '1s' }],
        ['sliding-window', { algorithm: 'sliding-window', limit: 7, window: '3s' }],
        ['token-bucket', { algorithm: 'token-bucket', limit: 3, window: '1s', burst: 6 }],
        ['leaky-bucket', { algorithm: 'leaky-bucket', limit: 4, window: '1s', burst: 3 }],
        ['concurrency', { algorithm: 'concurrency', limit: 4, window: '2s' }],
      ]

      algorithms.forEach(([label, params], index) => {
        it(`${label}: peek answers what check would, and consumes nothing`, async () => {
          const [rule] = names('peek')
          const twin = await twinFor([{ name: rule as string, dimension: 'account', ...params }])
          const who = someone()
          const random = seededRandom(300 + index)
          for (let i = 0; i < 60; i++) {
            twin.clock.advance(random.pick([0, 0, 17, 130, 400]))
            const cost = random.pick([1, 1, 2, 3])
            // Peeking twice changes nothing, and the check then answers the same.
            const first = await twin.peek(who, cost)
            expect(await twin.peek(who, cost)).toEqual(first)
            // A check of a permit rule also carries release(), which a peek, holding nothing, has not.
            const { release: _release, ...checked } = await twin.check(who, cost)
            expect({ ...checked, degraded: false }).toEqual({ ...first, degraded: false })
          }
        })

        it(`${label}: refund gives back exactly, never more than was taken (random traffic, window edges)`, async () => {
          const [rule] = names('refund')
          const W = windowMsOf(params.window)
          const twin = await twinFor(
            [{ name: rule as string, dimension: 'account', ...params }],
            DEFAULT_START_MS + 400 + index * 7919,
            `${label} refunds`,
          )
          const subjects = [someone(), someone()]
          const random = seededRandom(500 + index)
          for (let i = 0; i < 160; i++) {
            const roll = random.float()
            if (roll < 0.1) {
              const now = twin.clock()
              twin.clock.advance(Math.ceil((now + 1) / W) * W - now - random.int(0, 1)) // onto an edge or 1 ms before
            } else twin.clock.advance(random.pick([0, 0, 0, 40, 250, 900]))
            const who = random.pick(subjects)
            if (random.chance(0.3)) {
              // Huge refunds too: they fill up to the limit, never past it.
              await twin.refund(who, random.pick([1, 1, 2, 5, params.limit * 3, 1e15]))
            } else {
              await twin.check(who, random.pick([1, 1, 1, 2, 4]))
            }
          }
        })
      })

      it('concurrency: permits never released are reclaimed after the window, not before', async () => {
        const [rule] = names('in-flight')
        const W = 8000
        // On a slot edge (slots are W/8 wide), so a permit is held W + W/8 at most.
        const twin = await twinFor(
          [{ name: rule as string, dimension: 'account', algorithm: 'concurrency', limit: 2, window: W }],
          DEFAULT_START_MS + 250,
        )
        const who = someone()
        expect(await twin.check(who)).toMatchObject({ allowed: true, remaining: 1, resetMs: 8750 })
        twin.clock.advance(3000)
        expect(await twin.check(who)).toMatchObject({ allowed: true, remaining: 0 })
        twin.clock.advance(W - 3000 - 1)
        const denied = await twin.check(who)
        expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 751 })
        // The first permit comes back at its time, the second one stays held.
        await twin.probeRetry(who, 1, denied)
        expect((await twin.check(who)).allowed).toBe(false)
        twin.clock.advance(W + W / 8)
        expect(await twin.check(who, 2)).toMatchObject({ allowed: true, remaining: 0 })
      })

      it('concurrency: limiter.refund gives back one permit', async () => {
        const [rule] = names('in-flight')
        const twin = await twinFor([
          { name: rule as string, dimension: 'account', algorithm: 'concurrency', limit: 2, window: '1m' },
        ])
        const who = someone()
        await twin.check(who)
        await twin.check(who)
        expect((await twin.check(who)).allowed).toBe(false)
        await twin.refund(who)
        expect(await twin.check(who)).toMatchObject({ allowed: true, remaining: 0 })
        expect((await twin.check(who)).allowed).toBe(false)
      })

      it('refund of an estimate: the difference comes back, the real cost stays counted', async () => {
        const [rule] = names('tokens')
        const twin = await twinFor([
          {
            name: rule as string,
            dimension: 'account',
            algorithm: 'fixed-window',
            limit: 1000,
            window: '1m',
          },
        ])
        const who = someone()
        expect(await twin.check(who, 800)).toMatchObject({ allowed: true, remaining: 200 })
        expect((await twin.check(who, 300)).allowed).toBe(false)
        await twin.refund(who, 800 - 120) // the real cost was 120
        expect(await twin.check(who, 300)).toMatchObject({ allowed: true, remaining: 580 })
        // More than was ever taken: the quota is whole, not larger.
        await twin.refund(who, 1e9)
        expect(await twin.peek(who, 1)).toMatchObject({ allowed: true, remaining: 999 })
        expect((await twin.check(who, 1001)).allowed).toBe(false)
      })

      it('reset forgets one subject in every applicable rule, or only in the named one', async () => {
        const [perAccount, perDevice] = names('acct', 'dev')
        const twin = await twinFor([
          {
            name: perAccount as string,
            dimension: 'account',
            algorithm: 'sliding-window',
            limit: 3,
            window: '1m',
          },
          {
            name: perDevice as string,
            dimension: 'device',
            algorithm: 'token-bucket',
            limit: 5,
            window: '1m',
          },
        ])
        const [alice, bob] = [`alice-${uniqueSuffix()}`, `bob-${uniqueSuffix()}`]
        for (let i = 0; i < 3; i++) await twin.check({ account: alice, device: 'd' })
        await twin.check({ account: bob })
        expect(await twin.check({ account: alice, device: 'd' })).toMatchObject({
          allowed: false,
          rule: perAccount,
        })
        await twin.reset({ account: alice, device: 'd' }, perDevice)
        // Only the device's bucket is whole again: the account stays spent.
        expect(await twin.peek({ device: 'd' })).toMatchObject({ remaining: 4 })
        expect((await twin.check({ account: alice, device: 'd' })).allowed).toBe(false)
        await twin.reset({ account: alice })
        expect(await twin.check({ account: alice, device: 'd' })).toMatchObject({
          allowed: true,
          rule: perAccount,
          remaining: 2,
        })
        // Bob was not touched.
        expect(await twin.check({ account: bob })).toMatchObject({ remaining: 1 })
        // A named rule that does not apply to the subject is left alone.
        await twin.reset({ account: bob }, perDevice)
        expect(await twin.check({ account: bob })).toMatchObject({ remaining: 0 })
      })

      it('refund with a rule gives back to that rule only', async () => {
        const [a, b] = names('first', 'second')
        const twin = await twinFor([
          { name: a as string, dimension: 'account', algorithm: 'fixed-window', limit: 4, window: '1m' },
          {
            name: b as string,
            dimension: 'account',
            algorithm: 'leaky-bucket',
            limit: 10,
            window: '1s',
            burst: 10,
          },
        ])
        const who = someone()
        for (let i = 0; i < 4; i++) await twin.check(who)
        await twin.refund(who, 2, b)
        expect((await twin.check(who)).allowed).toBe(false)
        await twin.refund(who, 2, a)
        expect((await twin.check(who)).allowed).toBe(true)
      })

      it('blockFor: a denial blocks the key; retryAfterMs is the remaining block; nothing is consumed; reset lifts it', async () => {
        const [rule] = names('login')
        const twin = await twinFor(
          [
            {
              name: rule as string,
              dimension: 'account',
              algorithm: 'fixed-window',
              limit: 2,
              window: '1s',
              blockFor: '1m',
            },
          ],
          1000 * 1_700_000_000,
        )
        const who = someone()
        await twin.check(who)
        await twin.check(who)
        expect(await twin.check(who)).toMatchObject({
          allowed: false,
          remaining: 0,
          retryAfterMs: 60_000,
          resetMs: 60_000,
        })
        twin.clock.advance(5000) // the window is long over, the block is not
        expect(await twin.peek(who)).toMatchObject({ allowed: false, retryAfterMs: 55_000 })
        expect(await twin.check(who)).toMatchObject({ allowed: false, retryAfterMs: 55_000 })
        // Another account is not blocked.
        expect((await twin.check(someone())).allowed).toBe(true)
        twin.clock.advance(55_000 - 1)
        expect(await twin.check(who)).toMatchObject({ allowed: false, retryAfterMs: 1 })
        twin.clock.advance(1)
        // Nothing was consumed while blocked: the whole quota is there.
        expect(await twin.check(who)).toMatchObject({ allowed: true, remaining: 1 })
        await twin.check(who)
        expect((await twin.check(who)).retryAfterMs).toBe(60_000)
        await twin.reset(who)
        expect(await twin.check(who)).toMatchObject({ allowed: true, remaining: 1 })
      })

      it('blockFor: a peek that would be denied reports the block but does not start it', async () => {
        const [rule] = names('peek-block')
        const twin = await twinFor([
          {
            name: rule as string,
            dimension: 'account',
            algorithm: 'token-bucket',
            limit: 1,
            window: '1s',
            blockFor: '10s',
          },
        ])
        const who = someone()
        await twin.check(who)
        expect(await twin.peek(who)).toMatchObject({ allowed: false, retryAfterMs: 10_000 })
        twin.clock.advance(1000)
        expect((await twin.check(who)).allowed).toBe(true)
      })

      it('blockFor with several rules and every algorithm agrees with the model under random traffic', async () => {
        const [a, b, c, d] = names('bfw', 'bsw', 'btb', 'blb')
        const twin = await twinFor(
          [
            {
              name: a as string,
              dimension: 'account',
              algorithm: 'fixed-window',
              limit: 6,
              window: '1s',
              blockFor: 1500,
            },
            {
              name: b as string,
              dimension: 'device',
              algorithm: 'sliding-window',
              limit: 5,
              window: '2s',
              blockFor: '3s',
            },
            {
              name: c as string,
              dimension: ['account', 'device'],
              algorithm: 'token-bucket',
              limit: 4,
              window: '1s',
              burst: 3,
            },
            {
              name: d as string,
              dimension: 'global',
              algorithm: 'leaky-bucket',
              limit: 20,
              window: '1s',
              burst: 4,
              blockFor: 700,
            },
          ],
          DEFAULT_START_MS + 321,
          'blocks',
        )
        const random = seededRandom(777)
        const accounts = [`x-${uniqueSuffix()}`, `y-${uniqueSuffix()}`]
        const devices = [`p-${uniqueSuffix()}`, `q-${uniqueSuffix()}`]
        for (let i = 0; i < 220; i++) {
          twin.clock.advance(random.pick([0, 0, 0, 10, 50, 120, 400, 1100]))
          const subject: Subject = {}
          if (random.chance(0.8)) subject.account = random.pick(accounts)
          if (random.chance(0.8)) subject.device = random.pick(devices)
          const roll = random.float()
          if (roll < 0.08) await twin.reset(subject)
          else if (roll < 0.16) await twin.refund(subject, random.pick([1, 2, 3]))
          else if (roll < 0.24) await twin.peek(subject, random.pick([1, 2]))
          else await twin.check(subject, random.pick([1, 1, 1, 2, 3]))
        }
      })
    })
  })
}

/**
 * Arrivals mixing bursts (gap 0), gaps around the emission interval, gaps across window edges
 * and idle periods; mostly cost 1, some larger costs, rarely more than L or 0. About a fifth
 * of the denials are followed by a retry probe at retryAfterMs - 1 and retryAfterMs.
 */
async function randomTraffic(
  twin: Twin,
  random: Random,
  params: Omit<ModelRule, 'name' | 'dimension'>,
  subjects: Subject[],
  checks: number,
): Promise<void> {
  const W = windowMsOf(params.window)
  const T = Math.max(1, Math.floor(W / params.limit))
  let done = 0
  while (done < checks) {
    const roll = random.float()
    let gap: number
    if (roll < 0.3) gap = 0
    else if (roll < 0.6) gap = random.int(1, T)
    else if (roll < 0.8) gap = random.int(T, 3 * T)
    else if (roll < 0.9) gap = random.int(1, W)
    else if (roll < 0.95) {
      const now = twin.clock()
      gap = Math.ceil((now + 1) / W) * W - now - random.int(0, 1) // onto a window edge or 1 ms before
    } else gap = random.int(W, 3 * W)
    twin.clock.advance(Math.max(0, gap))
    const costRoll = random.float()
    const cost =
      costRoll < 0.7
        ? 1
        : costRoll < 0.92
          ? random.int(2, 4)
          : costRoll < 0.97
            ? 0
            : params.limit + random.int(0, 2)
    const subject = random.pick(subjects)
    const decision = await twin.check(subject, cost)
    done++
    expect(Number.isInteger(decision.remaining) && decision.remaining >= 0).toBe(true)
    if (!decision.allowed && Number.isFinite(decision.retryAfterMs) && random.chance(0.2)) {
      await twin.probeRetry(subject, cost, decision)
      done += 2
    }
  }
}
