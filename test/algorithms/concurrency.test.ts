import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concurrency } from '../../algorithms/concurrency'
import type { AlgorithmState, RuleParams, RuleVerdict } from '../../src/algorithm'
import { DEFAULT_START_MS } from '../support/fake-clock'
import { type ModelPermit, reclaimedAt, shortestWait } from '../support/reference-models'
import { RUNS, startMs, windowMs } from './harness'

const params = (limit: number, windowMs: number): RuleParams => ({
  limit,
  windowMs,
  burst: undefined,
  mode: undefined,
})

/** The algorithm alone, driven by a fake clock: a check keeps the state as the stores do. */
class Permits {
  state: AlgorithmState | undefined
  constructor(readonly rule: RuleParams) {}

  check(now: number, cost = 1): RuleVerdict {
    const { state, decision } = concurrency.step(this.state, { now, cost }, this.rule)
    const moved = this.state !== undefined && state.some((x, i) => x !== this.state?.[i])
    if (decision.allowed || moved) this.state = state
    return decision
  }

  refund(now: number, cost = 1, heldMs?: number): void {
    this.state = concurrency.refund?.(this.state, now, cost, this.rule, heldMs) ?? this.state
  }
}

/** Permits by id, each released exactly: what `release()` with a true `heldMs` must amount to. */
class PermitModel {
  readonly held = new Map<number, ModelPermit>()
  constructor(
    readonly limit: bigint,
    readonly windowMs: bigint,
  ) {}

  #live(now: bigint): ModelPermit[] {
    return [...this.held.values()].filter((p) => p.units > 0n && now < reclaimedAt(p.takenAt, this.windowMs))
  }

  #passes(now: bigint, cost: bigint): boolean {
    return this.#live(now).reduce((sum, p) => sum + p.units, 0n) + cost <= this.limit
  }

  check(id: number, now: bigint, cost: bigint): RuleVerdict {
    const live = this.#live(now)
    const held = live.reduce((sum, p) => sum + p.units, 0n)
    const allowed = held + cost <= this.limit
    if (allowed) this.held.set(id, { takenAt: now, units: cost })
    const after = this.#live(now)
    let lastReclaim = now
    for (const permit of after) {
      const at = reclaimedAt(permit.takenAt, this.windowMs)
      if (at > lastReclaim) lastReclaim = at
    }
    return {
      allowed,
      remaining: Number(this.limit - (allowed ? held + cost : held)),
      resetMs: Number(lastReclaim - now),
      retryAfterMs: allowed
        ? 0
        : cost > this.limit
          ? Number.POSITIVE_INFINITY
          : shortestWait((at) => this.#passes(at, cost), now),
      delayMs: 0,
    }
  }

  release(id: number): void {
    this.held.delete(id)
  }
}

describe('concurrency algorithm', () => {
  it('agrees with a model of individual permits under checks and exact releases', async () => {
    const op = fc.record({
      gap: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 400 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
      ),
      release: fc.boolean(),
      pick: fc.nat(),
      cost: fc.oneof(
        { weight: 6, arbitrary: fc.constant(1) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 4 }) },
      ),
    })
    await fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        windowMs,
        startMs,
        fc.array(op, { minLength: 1, maxLength: 80 }),
        (limit, window, start, ops) => {
          const permits = new Permits(params(limit, window))
          const model = new PermitModel(BigInt(limit), BigInt(window))
          const takenAt = new Map<number, { at: number; cost: number }>()
          let now = start
          ops.forEach(({ gap, release, pick, cost }, id) => {
            now += Math.min(gap, window * 3)
            const ids = [...takenAt.keys()]
            if (release && ids.length > 0) {
              const which = ids[pick % ids.length] as number
              const taken = takenAt.get(which) as { at: number; cost: number }
              takenAt.delete(which)
              // A permit already reclaimed is gone from both: the release gives nothing back.
              permits.refund(now, taken.cost, now - taken.at)
              model.release(which)
              return
            }
            const actual = permits.check(now, cost)
            expect(actual, `op ${id} at ${now} cost ${cost}`).toEqual(
              model.check(id, BigInt(now), BigInt(cost)),
            )
            if (actual.allowed) takenAt.set(id, { at: now, cost })
          })
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('a permit never released is held for at least the window, at most an eighth longer', () => {
    fc.assert(
      fc.property(windowMs, startMs, (window, start) => {
        const permits = new Permits(params(1, window))
        expect(permits.check(start).allowed).toBe(true)
        const denied = permits.check(start + window - 1)
        expect(denied.allowed).toBe(false)
        expect(denied.retryAfterMs).toBeGreaterThanOrEqual(1)
        expect(permits.check(start + window - 2 + denied.retryAfterMs).allowed).toBe(false)
        const at = start + window - 1 + denied.retryAfterMs
        expect(at - start).toBeGreaterThanOrEqual(window)
        expect(at - start).toBeLessThanOrEqual(window + Math.ceil(window / 8))
        expect(permits.check(at).allowed).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('a release gives back the permit held, so the next request passes at once', () => {
    const permits = new Permits(params(2, 8000))
    const t0 = DEFAULT_START_MS
    permits.check(t0)
    permits.check(t0 + 3000)
    expect(permits.check(t0 + 3500).allowed).toBe(false)
    permits.refund(t0 + 3600, 1, 3600)
    // The permit of t0 is gone; the one of t0 + 3000 still counts.
    expect(permits.check(t0 + 3600)).toMatchObject({ allowed: true, remaining: 0 })
    expect(permits.check(t0 + 3601).allowed).toBe(false)
  })

  it('a release whose heldMs lands in the neighbouring slot still finds its permit', () => {
    const permits = new Permits(params(1, 8000))
    const t0 = DEFAULT_START_MS + 999 // 1 ms before a slot edge (slots are 1000 ms wide)
    permits.check(t0)
    // The caller measured 2 ms less than the store's clock says: its estimate is in the next slot.
    permits.refund(t0 + 500, 1, 499)
    expect(permits.check(t0 + 500).allowed).toBe(true)
  })

  it("a late release of a reclaimed permit does not give back another request's permit", () => {
    const permits = new Permits(params(1, 8000))
    const t0 = DEFAULT_START_MS
    permits.check(t0)
    const later = t0 + 9000 // reclaimed: 8000 ms window plus the rest of its 1000 ms slot
    expect(permits.check(later).allowed).toBe(true)
    permits.refund(later + 100, 1, 9100)
    expect(permits.check(later + 100).allowed).toBe(false)
  })

  it('limiter.refund without heldMs gives back the newest permits first', () => {
    const permits = new Permits(params(2, 8000))
    const t0 = DEFAULT_START_MS
    permits.check(t0)
    permits.check(t0 + 4000)
    permits.refund(t0 + 4100, 1)
    // What is left is the permit of t0, reclaimed at t0 + 9000: a third request waits for it.
    expect(permits.check(t0 + 4100).allowed).toBe(true)
    const denied = permits.check(t0 + 4200)
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBe(9000 - 4200)
  })

  it('refund never goes below empty', () => {
    const permits = new Permits(params(3, 8000))
    const t0 = DEFAULT_START_MS
    permits.check(t0)
    permits.refund(t0, 1e9)
    for (let i = 0; i < 3; i++) expect(permits.check(t0 + 1).allowed).toBe(true)
    expect(permits.check(t0 + 1).allowed).toBe(false)
  })

  it('a clock stepping back holds no permit longer than a window from the step', () => {
    const permits = new Permits(params(1, 8000))
    const t0 = DEFAULT_START_MS
    permits.check(t0)
    const back = t0 - 3_600_000
    const denied = permits.check(back)
    expect(denied.allowed).toBe(false)
    expect(denied.retryAfterMs).toBeLessThanOrEqual(9000)
    expect(permits.check(back + denied.retryAfterMs).allowed).toBe(true)
  })

  it('retryAfterMs waits for as many permits as the cost needs, oldest first', () => {
    const permits = new Permits(params(3, 8000))
    const t0 = DEFAULT_START_MS
    permits.check(t0)
    permits.check(t0 + 2000)
    permits.check(t0 + 4000)
    // Two permits must go: those of t0 (reclaimed at t0 + 9000) and t0 + 2000 (at t0 + 11000).
    const denied = permits.check(t0 + 5000, 2)
    expect(denied).toMatchObject({ allowed: false, remaining: 0, resetMs: 8000, retryAfterMs: 6000 })
    expect(permits.check(t0 + 10_999, 2).allowed).toBe(false)
    expect(permits.check(t0 + 11_000, 2).allowed).toBe(true)
    expect(permits.check(t0 + 11_000, 100).retryAfterMs).toBe(Number.POSITIVE_INFINITY)
  })
})
