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

/**
 * Makes `follower` see the outages `leader` sees: for a limiter over the leader's store that
 * relays none of its events (diana-limiter/nestjs route limiters). Built during an outage, it
 * would otherwise never hear the `degraded` the store sends once per outage. `failClosed`: the
 * leader's store refuses requests while down, which the follower's options cannot tell (it is
 * handed the store built, not the options that said so); its degraded denials are then 503s
 * from the first, as the leader's.
 */
export function shareOutages(follower: Limiter, leader: Limiter, failClosed: boolean): void {
  const watch = watchOutages(leader)
  watches.set(follower, {
    get closed() {
      return failClosed || watch.closed
    },
  })
}
