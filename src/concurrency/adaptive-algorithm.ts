import type { Algorithm } from '../algorithm'
import type { CompiledRule } from '../rules/compiled-rule'

export const ADAPTIVE_CONCURRENCY = 'adaptive-concurrency'

/** How long an unreleased permit of an adaptive rule is held before it is reclaimed. */
export const DEFAULT_ADAPTIVE_HOLD_MS = 60_000

/**
 * The `adaptive-concurrency` entry of the algorithm registry, so that rules name it like any
 * algorithm and validation, `diana validate` and did-you-mean know it. Its limit is learned
 * from this process's latencies, so the limiter keeps it (`src/concurrency/adaptive-rules.ts`)
 * and never hands it to a store: there is no stored state to step, and no Lua twin.
 */
export const adaptiveConcurrency: Algorithm = {
  stateSize: 1,
  acceptsBurst: false,
  step() {
    throw new Error(`${ADAPTIVE_CONCURRENCY} is evaluated by the limiter in each process, never by a store`)
  },
}

export function isAdaptive(rule: CompiledRule): boolean {
  return rule.algorithm === adaptiveConcurrency
}
