import fc from 'fast-check'
import type { Decision } from '../../src/decision'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { createFakeClock, DEFAULT_START_MS, type FakeClock } from '../support/fake-clock'

/** One request of a generated sequence: wait `gap` ms, then ask for `cost` units. */
export interface Arrival {
  gap: number
  cost: number
}

export interface Outcome extends Arrival {
  now: number
  decision: Decision
}

/** Gaps mixing bursts, short and long waits; costs mostly 1. Scaled to the window. */
export function arrivals(windowMs: number, maxLength = 60): fc.Arbitrary<Arrival[]> {
  const gap = fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.max(1, Math.ceil(windowMs / 4)) }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: windowMs * 2 }) },
  )
  const cost = fc.oneof(
    { weight: 6, arbitrary: fc.constant(1) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 }) },
  )
  return fc.array(fc.record({ gap, cost }), { minLength: 1, maxLength })
}

/** A window in ms: tiny ones hit many edges, round ones are what users write. */
export const windowMs = fc.oneof(
  fc.constantFrom(1, 7, 100, 1000, 3000, 60_000),
  fc.integer({ min: 2, max: 5000 }),
)

/** Where the fake clock starts: 0, or epoch-scale as in production (float precision matters). */
export const startMs = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 10_000_000 }).map((offset) => DEFAULT_START_MS + offset),
)

export function limiterFor(rules: Rule[], start: number): { limiter: Limiter; clock: FakeClock } {
  const clock = createFakeClock(start)
  // A small store: the default preallocates room for 100,000 keys, which would dominate the
  // cost of the hundreds of short-lived limiters a property run creates.
  return { limiter: createLimiter({ rules, clock, store: { type: 'memory', maxKeys: 64 } }), clock }
}

/** Runs a sequence through a fresh limiter with one global rule. */
export async function run(rule: Rule, sequence: Arrival[], start: number): Promise<Outcome[]> {
  const { limiter, clock } = limiterFor([rule], start)
  const outcomes: Outcome[] = []
  for (const arrival of sequence) {
    clock.advance(arrival.gap)
    outcomes.push({ ...arrival, now: clock(), decision: await limiter.check({}, { cost: arrival.cost }) })
  }
  await limiter.close()
  return outcomes
}

/** Property runs per test: enough to find edge cases, few enough for a busy 2-core machine. */
export const RUNS = 300
