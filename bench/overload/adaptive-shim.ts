// TEMPORARY until the rule is wired: delete this file, and its one use in variant-admission.ts, once
// createLimiter accepts `{ algorithm: 'adaptive-concurrency', dimension: 'global', limit }` and
// its decisions carry `release()`.
import { AdaptiveGateTable } from '../../src/concurrency/adaptive-gate-table'
import type { Admission, AdmissionDecision } from './admission'

/**
 * The adaptive rule as the limiter will run it, straight on the process-local engine: one
 * gate for the global key, `limit` 1000, no other tuning; a request's latency is from its
 * check to its release.
 */
export function createAdaptiveShim(): Admission {
  const table = new AdaptiveGateTable({ limit: { maxLimit: 1000 } })
  return {
    check: async (): Promise<AdmissionDecision> => {
      const start = performance.now()
      const gate = table.gate('', start)
      const permit = gate.tryAcquire('normal')
      if (permit === undefined) {
        return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(gate.limit.latencyMs ?? 100)) }
      }
      return {
        allowed: true,
        retryAfterMs: 0,
        release: () => {
          const now = performance.now()
          permit.release(now - start, now)
        },
      }
    },
  }
}
