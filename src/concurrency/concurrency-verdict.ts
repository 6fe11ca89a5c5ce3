import type { RuleVerdict } from '../algorithm'

/** How long a turned-away client waits before any latency has been measured. */
export const UNMEASURED_RETRY_AFTER_MS = 100

export interface GateReading {
  allowed: boolean
  /** Places left for the request's priority after this request (0 when denied). */
  remaining: number
  inFlight: number
  /** The latest average latency of the key's requests; undefined before one was measured. */
  latencyMs: number | undefined
}

/**
 * The verdict of a concurrency rule. Places free up as requests in flight finish, so the time
 * until they have, the key's current latency, is both when a denied request may pass
 * (`retryAfterMs`) and when the key is empty again (`resetMs`); it is short by nature, and
 * under overload it is what paces the retries of well-behaved clients.
 */
export function concurrencyVerdict(reading: GateReading): RuleVerdict {
  const latency = Math.max(1, Math.ceil(reading.latencyMs ?? UNMEASURED_RETRY_AFTER_MS))
  if (!reading.allowed) {
    return { allowed: false, remaining: 0, resetMs: latency, retryAfterMs: latency, delayMs: 0 }
  }
  return {
    allowed: true,
    remaining: Math.max(0, reading.remaining),
    resetMs: reading.inFlight > 0 ? latency : 0,
    retryAfterMs: 0,
    delayMs: 0,
  }
}
