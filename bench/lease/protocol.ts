import type { WorkloadSpec } from './workload'

/**
 * Messages between `diana bench lease` and its worker processes. One request is outstanding at
 * a time: prepare (build the limiter, reach Redis), go (run until the end), close.
 */
export type ToWorker =
  | {
      type: 'prepare'
      spec: WorkloadSpec
      redisUrl: string
      denialCache: boolean
      commandTimeoutMs: number | undefined
      concurrency: number
      offset: number
    }
  | { type: 'go'; startAt: number; durationMs: number }
  | { type: 'close' }

export type FromWorker =
  | { type: 'ready' }
  /** The build rejects the variant's rules (leases not available yet); not a failure of the run. */
  | { type: 'unavailable'; message: string }
  | { type: 'error'; message: string }
  | { type: 'done'; result: WorkerResult }
  | { type: 'closed' }

/** What one worker did in one sample. */
export interface WorkerResult {
  /** Checks answered. */
  decisions: number
  /** From the start barrier to the last answer, ms. */
  elapsedMs: number
  allowed: number
  /** Decisions taken by the local fallback because Redis failed. */
  degraded: number
  /** Allowed decisions per window of the global rule: [window index, count]. */
  windows: [number, number][]
  /** Allowed decisions whose window could not be told (no finite `resetMs`). */
  unbucketed: number
  /** Latency histogram of one check in eight (see bench/histogram.ts). */
  latency: [number, number][]
}
