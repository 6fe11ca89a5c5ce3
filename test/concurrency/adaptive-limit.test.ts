/**
 * The adaptive limit protecting a service of fixed capacity, in virtual time: C workers, a FIFO
 * queue in front of them, closed-loop clients offering 1× to 10× what the workers can serve.
 * The limit is not tuned to the service; it has to find it.
 */
import { describe, expect, it } from 'vitest'
import { percentile, QueueingService, type SimulatedGate } from './queueing-service'
import { adaptiveGate, noGate } from './simulated-gate'

const SLOTS = 100
const SERVICE_MS = 20

/** p50 and p99 latency of the service when nothing queues (half its capacity offered). */
function unloaded(jitter = 0.1): { p50: number; p99: number } {
  const sim = new QueueingService(noGate, { slots: SLOTS, serviceMs: SERVICE_MS, jitter })
  sim.setClients(SLOTS / 2)
  sim.run(200 * SERVICE_MS)
  const latencies = sim.completions.map((c) => c.latencyMs)
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

/** What the clients got over the last `forMs`: goodput as a share of capacity, admitted p99. */
function measure(sim: QueueingService, forMs: number, goodLatencyMs: number) {
  const from = sim.now
  const completedFrom = sim.completions.length
  const tracedFrom = sim.limitTrace.length
  sim.run(forMs)
  const done = sim.completions.slice(completedFrom)
  const good = done.filter((c) => c.latencyMs <= goodLatencyMs).length
  const limits = sim.limitTrace.slice(tracedFrom).map((t) => t.limit)
  return {
    goodput: good / forMs / sim.capacityPerMs,
    p99: percentile(
      done.map((c) => c.latencyMs),
      0.99,
    ),
    minLimit: Math.min(...limits),
    maxLimit: Math.max(...limits),
    from,
  }
}

function overloaded(gate: SimulatedGate, load: number, jitter = 0.1): QueueingService {
  const sim = new QueueingService(gate, { slots: SLOTS, serviceMs: SERVICE_MS, jitter })
  sim.setClients(load * SLOTS)
  return sim
}

describe('adaptive concurrency in front of a queueing service', () => {
  const base = unloaded()

  it('unprotected, the service fails the targets at 10× load (the scenario has teeth)', () => {
    const sim = overloaded(noGate, 10)
    sim.run(50 * SERVICE_MS)
    const result = measure(sim, 200 * SERVICE_MS, 3 * base.p50)
    expect(result.goodput).toBeLessThan(0.1)
    expect(result.p99).toBeGreaterThan(4 * base.p99)
  })

  it('finds a limit between C and 2C within a bounded number of samples, and keeps it', () => {
    const gate = adaptiveGate()
    const sim = overloaded(gate, 10)
    while (gate.samples < 4_000) sim.run(SERVICE_MS)
    const after = measure(sim, 400 * SERVICE_MS, 3 * base.p50)
    expect(after.minLimit).toBeGreaterThanOrEqual(SLOTS)
    expect(after.maxLimit).toBeLessThanOrEqual(2 * SLOTS)
  })

  for (const load of [1, 2, 5, 10]) {
    it(`at ${load}× capacity: goodput ≥ 85 % of capacity, admitted p99 ≤ 4× unloaded p99`, () => {
      const sim = overloaded(adaptiveGate(), load)
      sim.run(100 * SERVICE_MS)
      const result = measure(sim, 500 * SERVICE_MS, 3 * base.p50)
      expect(result.goodput).toBeGreaterThanOrEqual(0.85)
      expect(result.p99).toBeLessThanOrEqual(4 * base.p99)
    })
  }

  it('holds the targets when service times vary widely (uniform over 0.1×–1.9× the mean)', () => {
    const noisy = unloaded(0.9)
    const sim = overloaded(adaptiveGate(), 10, 0.9)
    sim.run(100 * SERVICE_MS)
    const result = measure(sim, 500 * SERVICE_MS, 3 * noisy.p50)
    expect(result.goodput).toBeGreaterThanOrEqual(0.85)
    expect(result.p99).toBeLessThanOrEqual(4 * noisy.p99)
  })

  it('lowers the limit when service time doubles, and finds C again once it recovers', () => {
    const gate = adaptiveGate()
    const sim = overloaded(gate, 10)
    sim.run(100 * SERVICE_MS)
    const before = measure(sim, 50 * SERVICE_MS, 3 * base.p50)
    sim.serviceMs = 2 * SERVICE_MS
    const slow = measure(sim, 20 * SERVICE_MS, 3 * 2 * base.p50)
    expect(slow.minLimit).toBeLessThan(before.minLimit)
    sim.serviceMs = SERVICE_MS
    sim.run(50 * SERVICE_MS)
    const recovered = measure(sim, 200 * SERVICE_MS, 3 * base.p50)
    expect(recovered.minLimit).toBeGreaterThanOrEqual(SLOTS)
    expect(recovered.maxLimit).toBeLessThanOrEqual(2 * SLOTS)
    expect(recovered.goodput).toBeGreaterThanOrEqual(0.85)
  })

  it('re-measures the no-load latency when the service stays slower, and fills it again', () => {
    const gate = adaptiveGate()
    const sim = overloaded(gate, 10)
    sim.run(100 * SERVICE_MS)
    sim.serviceMs = 2 * SERVICE_MS
    sim.run(100 * 2 * SERVICE_MS)
    expect(gate.gate.limit.noLoadMs).toBeGreaterThan(1.8 * SERVICE_MS)
    const slow = measure(sim, 200 * 2 * SERVICE_MS, 3 * 2 * base.p50)
    expect(slow.goodput).toBeGreaterThanOrEqual(0.85)
    expect(slow.minLimit).toBeGreaterThanOrEqual(SLOTS)
  })

  it('recovers when load drops and comes back', () => {
    const gate = adaptiveGate()
    const sim = overloaded(gate, 10)
    sim.run(100 * SERVICE_MS)
    sim.setClients(SLOTS / 2)
    const light = measure(sim, 100 * SERVICE_MS, 3 * base.p50)
    // Half the capacity offered: nobody is turned away or queued.
    expect(light.goodput).toBeGreaterThanOrEqual(0.49)
    expect(sim.denials.filter((d) => d.atMs >= light.from + 10 * SERVICE_MS)).toEqual([])
    sim.setClients(10 * SLOTS)
    sim.run(50 * SERVICE_MS)
    const heavy = measure(sim, 200 * SERVICE_MS, 3 * base.p50)
    expect(heavy.goodput).toBeGreaterThanOrEqual(0.85)
    expect(heavy.p99).toBeLessThanOrEqual(4 * base.p99)
  })

  it('stays within [minLimit, limit] when the service would want more, or less', () => {
    const capped = adaptiveGate({ minLimit: 5, maxLimit: 60 })
    const big = overloaded(capped, 10)
    big.run(300 * SERVICE_MS)
    expect(Math.max(...big.limitTrace.map((t) => t.limit))).toBe(60)

    const floored = adaptiveGate({ minLimit: 150, maxLimit: 1000 })
    const small = overloaded(floored, 10)
    small.run(300 * SERVICE_MS)
    expect(Math.min(...small.limitTrace.map((t) => t.limit))).toBe(150)
  })
})
