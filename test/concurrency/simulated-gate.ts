import { AdaptiveGate } from '../../src/concurrency/adaptive-gate'
import { concurrencyVerdict } from '../../src/concurrency/concurrency-verdict'
import type { Priority } from '../../src/concurrency/priority'
import { VegasLimit } from '../../src/concurrency/vegas-limit'
import type { VegasOptions } from '../../src/concurrency/vegas-options'
import { mulberry32 } from '../support/prng'
import type { SimulatedGate } from './queueing-service'

/** An `AdaptiveGate` as the simulated clients see it, counting the samples it learned from. */
export interface GateUnderTest extends SimulatedGate {
  readonly gate: AdaptiveGate
  readonly samples: number
}

export function adaptiveGate(options: Partial<VegasOptions> = {}, seed = 7): GateUnderTest {
  const gate = new AdaptiveGate(new VegasLimit(options, 0, mulberry32(seed)))
  let samples = 0
  return {
    gate,
    get samples() {
      return samples
    },
    get currentLimit() {
      return gate.limit.limit
    },
    tryAcquire(priority: Priority) {
      const permit = gate.tryAcquire(priority)
      if (permit === undefined) return undefined
      return {
        release(latencyMs: number | undefined, now: number) {
          samples += 1
          permit.release(latencyMs, now)
        },
      }
    },
    retryAfterMs() {
      const reading = {
        allowed: false,
        remaining: 0,
        inFlight: gate.inFlight,
        latencyMs: gate.limit.latencyMs,
      }
      return concurrencyVerdict(reading).retryAfterMs
    },
  }
}

/** No limit at all: the service as it behaves unprotected. */
export const noGate: SimulatedGate = {
  currentLimit: Number.POSITIVE_INFINITY,
  tryAcquire: () => ({ release: () => {} }),
  retryAfterMs: () => 1,
}
