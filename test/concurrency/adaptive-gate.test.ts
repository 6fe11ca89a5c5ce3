/** The in-flight gate, its permits and its per-key table, driven by hand with a fake clock. */
import { describe, expect, it } from 'vitest'
import { AdaptiveGate } from '../../src/concurrency/adaptive-gate'
import { AdaptiveGateTable } from '../../src/concurrency/adaptive-gate-table'
import { concurrencyVerdict, UNMEASURED_RETRY_AFTER_MS } from '../../src/concurrency/concurrency-verdict'
import { VegasLimit } from '../../src/concurrency/vegas-limit'
import { vegasOptions } from '../../src/concurrency/vegas-options'
import { createFakeClock } from '../support/fake-clock'
import { mulberry32 } from '../support/prng'

function gateOf(initialLimit: number, now = 0): AdaptiveGate {
  return new AdaptiveGate(new VegasLimit({ initialLimit, minLimit: 1, maxLimit: 100 }, now, mulberry32(1)))
}

/** Admits `priority` until the gate refuses; returns the permits. */
function fill(gate: AdaptiveGate, priority: 'critical' | 'normal' | 'sheddable' = 'critical') {
  const permits = []
  for (let permit = gate.tryAcquire(priority); permit !== undefined; permit = gate.tryAcquire(priority)) {
    permits.push(permit)
  }
  return permits
}

describe('AdaptiveGate', () => {
  it('admits each priority up to its share of the limit', () => {
    const gate = gateOf(10)
    expect(fill(gate, 'sheddable')).toHaveLength(5)
    expect(fill(gate, 'normal')).toHaveLength(3)
    expect(fill(gate, 'critical')).toHaveLength(2)
    expect(gate.inFlight).toBe(10)
  })

  it('frees a place once per permit, however often it is released', () => {
    const clock = createFakeClock(0)
    const gate = gateOf(4)
    const [first] = fill(gate)
    first?.release(5, clock.advance(5))
    first?.release(5, clock.now())
    first?.drop(clock.now())
    expect(gate.inFlight).toBe(3)
    expect(fill(gate)).toHaveLength(1)
  })

  it('learns nothing from a permit released without a latency, yet frees its place', () => {
    const clock = createFakeClock(0)
    const gate = gateOf(4)
    for (let i = 0; i < 100; i++) {
      for (const permit of fill(gate)) permit.release(undefined, clock.advance(10))
    }
    expect(gate.inFlight).toBe(0)
    expect(gate.limit.latencyMs).toBeUndefined()
    for (let i = 0; i < 100; i++) {
      for (const permit of fill(gate)) permit.release(10, clock.advance(10))
    }
    expect(gate.limit.latencyMs).toBe(10)
  })

  it('does not read the scatter of a whole-millisecond clock on a fast service as a queue', () => {
    const clock = createFakeClock(0)
    const gate = gateOf(20)
    const random = mulberry32(3)
    for (let round = 0; round < 200; round++) {
      const permits = fill(gate)
      gate.tryAcquire('critical')
      for (const permit of permits) permit.release(random() < 0.5 ? 0 : 1, clock.advance(0.05))
    }
    expect(gate.limit.limit).toBeGreaterThan(20)
  })

  it('lowers the limit when requests are dropped (timeouts, the service shedding)', () => {
    const clock = createFakeClock(0)
    const gate = gateOf(50)
    for (const permit of fill(gate)) permit.drop(clock.advance(1))
    expect(gate.limit.limit).toBeLessThan(50)
    expect(gate.limit.limit).toBeGreaterThanOrEqual(1)
  })
})

describe('AdaptiveGateTable', () => {
  it('keeps at most maxKeys gates, however many keys arrive', () => {
    const table = new AdaptiveGateTable({ maxKeys: 1_000 })
    // Every attacker request stays in flight, so each evicted gate is set aside: up to a cap.
    for (let i = 0; i < 50_000; i++) table.tryAcquire(`attacker-${i}`, 'normal', i)
    expect(table.size).toBe(1_000)
    expect(table.setAside).toBeLessThanOrEqual(4_000)
  })

  it('gives a busy key evicted by a flood of other keys its own gate back, places held', () => {
    const table = new AdaptiveGateTable({ maxKeys: 2, limit: { initialLimit: 2 } })
    const old = [table.tryAcquire('global', 'critical', 0), table.tryAcquire('global', 'critical', 0)]
    expect(table.tryAcquire('global', 'critical', 0)).toBeUndefined()
    table.tryAcquire('a', 'normal', 1)
    table.tryAcquire('b', 'normal', 1)
    // global was evicted with both places held: it must not start again with both free.
    expect(table.tryAcquire('global', 'critical', 2)).toBeUndefined()
    expect(table.gate('global', 2).inFlight).toBe(2)
    old[0]?.release(10, 3)
    expect(table.tryAcquire('global', 'critical', 3)).toBeDefined()
    expect(table.tryAcquire('global', 'critical', 3)).toBeUndefined()
  })

  it('starts an idle key that was evicted afresh', () => {
    const table = new AdaptiveGateTable({ maxKeys: 2, limit: { initialLimit: 2 } })
    table.tryAcquire('global', 'critical', 0)?.release(10, 0)
    table.tryAcquire('a', 'normal', 1)
    table.tryAcquire('b', 'normal', 1)
    expect(table.setAside).toBe(0) // global, idle, was evicted and not kept
    expect(table.gate('global', 2).inFlight).toBe(0)
    expect(table.setAside).toBe(1) // now a, with its request in flight, was
  })
})

describe('concurrencyVerdict', () => {
  it('tells a denied client to come back after about one latency, with nothing remaining', () => {
    expect(concurrencyVerdict({ allowed: false, remaining: 3, inFlight: 10, latencyMs: 41.2 })).toEqual({
      allowed: false,
      remaining: 0,
      resetMs: 42,
      retryAfterMs: 42,
      delayMs: 0,
    })
  })

  it('uses a short constant before any latency was measured, and never 0', () => {
    const unmeasured = concurrencyVerdict({ allowed: false, remaining: 0, inFlight: 1, latencyMs: undefined })
    expect(unmeasured.retryAfterMs).toBe(UNMEASURED_RETRY_AFTER_MS)
    const instant = concurrencyVerdict({ allowed: false, remaining: 0, inFlight: 1, latencyMs: 0 })
    expect(instant.retryAfterMs).toBe(1)
  })

  it('reports the places left when allowed, and resetMs 0 when nothing is in flight', () => {
    expect(concurrencyVerdict({ allowed: true, remaining: 7, inFlight: 3, latencyMs: 20 })).toEqual({
      allowed: true,
      remaining: 7,
      resetMs: 20,
      retryAfterMs: 0,
      delayMs: 0,
    })
    expect(concurrencyVerdict({ allowed: true, remaining: 7, inFlight: 0, latencyMs: 20 }).resetMs).toBe(0)
  })
})

describe('vegasOptions', () => {
  it('fills defaults and keeps the initial limit inside [minLimit, maxLimit]', () => {
    expect(vegasOptions()).toMatchObject({ minLimit: 1, maxLimit: 1000, initialLimit: 10 })
    expect(vegasOptions({ minLimit: 20 }).initialLimit).toBe(20)
    expect(vegasOptions({ maxLimit: 5 }).initialLimit).toBe(5)
  })

  it('rejects limits that cannot work', () => {
    expect(() => vegasOptions({ minLimit: 0 })).toThrow(/minLimit/)
    expect(() => vegasOptions({ minLimit: 50, maxLimit: 10 })).toThrow(/above limit/)
    expect(() => vegasOptions({ initialLimit: 2000 })).toThrow(/initialLimit/)
    expect(() => vegasOptions({ alpha: 6, beta: 3 })).toThrow(/alpha/)
  })
})
