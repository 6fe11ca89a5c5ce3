import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CircuitBreaker, type CircuitBreakerOptions } from '../../../src/stores/redis/circuit-breaker'

/** A breaker on fake timers whose probes answer as `probeAnswers` says, recording what it reports. */
function breaker(overrides: Partial<CircuitBreakerOptions> = {}) {
  const events: string[] = []
  let probes = 0
  let probeAnswers = false
  const b = new CircuitBreaker({
    failureThreshold: 3,
    probeMinMs: 100,
    probeMaxMs: 400,
    probe: async () => {
      probes += 1
      if (!probeAnswers) throw new Error('still down')
    },
    onOpen: (reason) => events.push(`open: ${reason}`),
    onClose: (downMs) => events.push(`close after ${downMs} ms`),
    now: () => Date.now(),
    ...overrides,
  })
  return {
    b,
    events,
    probes: () => probes,
    answerProbes: (answers: boolean) => {
      probeAnswers = answers
    },
  }
}

/** Time for a probe due after `ms` (no jitter: see beforeEach) and its answer. */
async function afterProbeDue(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
}

describe('CircuitBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    // The jitter factor is 0.8 + 0.4 × random: 0.5 makes it exactly 1.
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  it('stays closed below the failure threshold, and a success starts the count again', () => {
    const { b, events } = breaker()
    b.failure('timeout')
    b.failure('timeout')
    b.success()
    b.failure('timeout')
    b.failure('timeout')
    expect(b.state).toBe('closed')
    expect(b.isOpen).toBe(false)
    expect(events).toEqual([])
  })

  it('opens on the threshold-th failure in a row, reporting that failure once', () => {
    const { b, events } = breaker()
    b.failure('first')
    b.failure('second')
    b.failure('third')
    b.failure('fourth')
    expect(b.isOpen).toBe(true)
    expect(events).toEqual(['open: third'])
  })

  it('probes after probeMinMs, then backs off doubling up to probeMaxMs', async () => {
    const { b, probes } = breaker()
    for (let i = 0; i < 3; i++) b.failure('down')
    await vi.advanceTimersByTimeAsync(99)
    expect(probes()).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(probes()).toBe(1)
    await vi.advanceTimersByTimeAsync(199)
    expect(probes()).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(probes()).toBe(2)
    // Then 400, and 400 again: the cap holds.
    await vi.advanceTimersByTimeAsync(400)
    expect(probes()).toBe(3)
    await vi.advanceTimersByTimeAsync(399)
    expect(probes()).toBe(3)
    await vi.advanceTimersByTimeAsync(1)
    expect(probes()).toBe(4)
    expect(b.isOpen).toBe(true)
  })

  it.each([
    [0, 80],
    [1, 120],
  ])(
    'spreads probes ±20 percent so a fleet does not probe in lockstep (random %s: after %s ms)',
    async (random, ms) => {
      vi.spyOn(Math, 'random').mockReturnValue(random)
      const { b, probes } = breaker()
      for (let i = 0; i < 3; i++) b.failure('down')
      await vi.advanceTimersByTimeAsync(ms - 1)
      expect(probes()).toBe(0)
      await vi.advanceTimersByTimeAsync(1)
      expect(probes()).toBe(1)
    },
  )

  it('after a probe answers, lets calls through on trial and closes with the first success', async () => {
    const { b, events, answerProbes } = breaker()
    for (let i = 0; i < 3; i++) b.failure('down')
    answerProbes(true)
    await afterProbeDue(100)
    expect(b.state).toBe('trial')
    expect(b.isOpen).toBe(false)
    expect(events).toEqual(['open: down'])
    b.success()
    expect(b.state).toBe('closed')
    expect(events).toHaveLength(2)
    expect(events[1]).toMatch(/^close after (\d+) ms$/)
    const downMs = Number(/(\d+)/.exec(events[1] as string)?.[1])
    expect(downMs).toBe(100)
  })

  it('a failure on trial reopens without a second report, and the next probe waits longer', async () => {
    const { b, events, probes, answerProbes } = breaker()
    for (let i = 0; i < 3; i++) b.failure('down')
    answerProbes(true)
    await afterProbeDue(100)
    expect(b.state).toBe('trial')
    b.failure('still failing the real work')
    expect(b.isOpen).toBe(true)
    expect(events).toEqual(['open: down'])
    const before = probes()
    await vi.advanceTimersByTimeAsync(199)
    expect(probes()).toBe(before)
    await vi.advanceTimersByTimeAsync(1)
    expect(probes()).toBe(before + 1)
  })

  it('reset closes at once and reports the outage; on a closed breaker it reports nothing', () => {
    const { b, events } = breaker()
    b.reset()
    expect(events).toEqual([])
    for (let i = 0; i < 3; i++) b.failure('down')
    b.reset()
    expect(b.state).toBe('closed')
    expect(events).toEqual(['open: down', 'close after 0 ms'])
    // The failure count starts again: two more failures do not reopen it.
    b.failure('x')
    b.failure('x')
    expect(b.state).toBe('closed')
  })

  it('once stopped, neither probes nor opens', async () => {
    const { b, events, probes } = breaker()
    for (let i = 0; i < 3; i++) b.failure('down')
    b.stop()
    await afterProbeDue(400)
    expect(probes()).toBe(0)
    b.reset()
    for (let i = 0; i < 3; i++) b.failure('again')
    expect(events).toEqual(['open: down', 'close after 400 ms'])
    expect(b.state).toBe('closed')
  })
})
