/**
 * Under pressure an adaptive limit turns away `sheddable` requests first and `critical` ones
 * last: a third of the clients of each priority, offered more and more load.
 */
import { describe, expect, it } from 'vitest'
import type { Priority } from '../../src/concurrency/priority'
import { QueueingService } from './queueing-service'
import { adaptiveGate } from './simulated-gate'

const SLOTS = 100
const SERVICE_MS = 20
const MIX: Priority[] = ['critical', 'normal', 'sheddable']

/** Share of each priority's attempts that were turned away, once the limit has settled. */
function deniedShare(load: number): Record<Priority, number> & { goodput: number } {
  const sim = new QueueingService(adaptiveGate(), { slots: SLOTS, serviceMs: SERVICE_MS })
  sim.setClients(load * SLOTS, MIX)
  sim.run(100 * SERVICE_MS)
  const completedFrom = sim.completions.length
  const deniedFrom = sim.denials.length
  const forMs = 500 * SERVICE_MS
  sim.run(forMs)
  const done = sim.completions.slice(completedFrom)
  const denied = sim.denials.slice(deniedFrom)
  const share = (priority: Priority) => {
    const ok = done.filter((c) => c.priority === priority).length
    const no = denied.filter((d) => d.priority === priority).length
    return no / (ok + no)
  }
  return {
    critical: share('critical'),
    normal: share('normal'),
    sheddable: share('sheddable'),
    goodput: done.length / forMs / sim.capacityPerMs,
  }
}

describe('priorities under an adaptive limit', () => {
  it('at capacity, turns nobody away', () => {
    const shed = deniedShare(1)
    expect([shed.critical, shed.normal, shed.sheddable]).toEqual([0, 0, 0])
  })

  it('at 1.5× capacity, sheds sheddable requests and serves the others', () => {
    const shed = deniedShare(1.5)
    expect(shed.sheddable).toBeGreaterThan(0.8)
    expect(shed.normal).toBeLessThan(0.05)
    expect(shed.critical).toBeLessThan(0.05)
  })

  it('at 3× capacity, sheds normal requests too and still serves critical ones', () => {
    const shed = deniedShare(3)
    expect(shed.sheddable).toBeGreaterThan(0.95)
    expect(shed.normal).toBeGreaterThan(0.8)
    expect(shed.critical).toBeLessThan(0.05)
  })

  it('at 10× capacity, gives the whole capacity to critical requests', () => {
    const shed = deniedShare(10)
    expect(shed.sheddable).toBe(1)
    expect(shed.normal).toBe(1)
    expect(shed.critical).toBeLessThan(1)
    expect(shed.goodput).toBeGreaterThanOrEqual(0.85)
  })
})
