import type { Subject } from '../../src/types'

/**
 * What the service asks before a request takes a slot: Diana's limiter, as an application
 * calls it. `release` is there on every decision of a check that applied a concurrency rule;
 * the service calls it when the response has finished or the client has gone.
 */
export interface Admission {
  check(subject: Subject): Promise<AdmissionDecision>
}

export interface AdmissionDecision {
  allowed: boolean
  retryAfterMs: number
  release?: () => void
}
