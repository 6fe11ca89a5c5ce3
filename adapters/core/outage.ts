import type { EventEmitter } from 'node:events'
import type { Limiter } from '../../src/limiter'

/** Whether a limiter's shared store is down with `onFailure: 'closed'` right now. */
export interface OutageWatch {
  readonly closed: boolean
}

const watches = new WeakMap<Limiter, OutageWatch>()

/**
 * Follows the limiter's `degraded` / `recovered` events. While a store that fails closed is
 * down, its denials mean "cannot decide", not "over the limit", and get a 503. One watch (two
 * listeners) per limiter, however many adapters or routes share it.
 */
export function watchOutages(limiter: Limiter): OutageWatch {
  let watch = watches.get(limiter)
  if (watch === undefined) {
    const state = { closed: false }
    const events = limiter as unknown as EventEmitter
    events.on('degraded', (info: { policy?: string } | undefined) => {
      state.closed = info?.policy === 'closed'
    })
    events.on('recovered', () => {
      state.closed = false
    })
    watch = state
    watches.set(limiter, watch)
  }
  return watch
}
