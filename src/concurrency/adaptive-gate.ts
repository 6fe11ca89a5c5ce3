import { capFor, DEFAULT_PRIORITY_SHARES, type Priority, type PriorityShares } from './priority'
import type { VegasLimit } from './vegas-limit'

/**
 * The right to one place in flight. `release` hands it back with the request's latency, which
 * becomes a sample of the limit; without a latency (another rule denied the request, it failed
 * for its own reasons) the place is freed and nothing is learned. `drop` frees it and reports
 * overload (a timeout, the service shedding). Only the first of these calls counts.
 */
export interface Permit {
  release(latencyMs: number | undefined, now: number): void
  drop(now: number): void
}

/**
 * The requests in flight under one key of an adaptive rule, admitted up to the limit its
 * {@link VegasLimit} learns, each priority up to its share of that limit.
 *
 * A permit not handed back within `holdMs` of being taken is reclaimed (freed without a sample)
 * at the next admission: a request whose release was lost (a handler that never answers, a bug
 * in the code that should release) must not shrink the key's capacity for good. The permits in
 * flight are kept oldest first, so reclaiming looks only at the oldest.
 */
export class AdaptiveGate {
  readonly limit: VegasLimit
  readonly #shares: PriorityShares
  readonly #holdMs: number
  #inFlight = 0
  /** Oldest permit in flight; each links to the next taken. */
  #oldest: GatePermit | undefined
  #newest: GatePermit | undefined

  constructor(
    limit: VegasLimit,
    shares: PriorityShares = DEFAULT_PRIORITY_SHARES,
    holdMs = Number.POSITIVE_INFINITY,
  ) {
    this.limit = limit
    this.#shares = shares
    this.#holdMs = holdMs
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** How many more requests of this priority would be admitted now. */
  remaining(priority: Priority = 'normal'): number {
    const cap = Math.min(capFor(this.limit.limit, this.#shares[priority]), this.limit.probeCap)
    return Math.max(0, cap - this.#inFlight)
  }

  /** `now` dates the permit, for reclaiming it; without it the permit is never reclaimed. */
  tryAcquire(priority: Priority = 'normal', now = Number.NaN): Permit | undefined {
    if (!Number.isNaN(now)) this.#reclaim(now)
    if (this.remaining(priority) === 0) {
      this.limit.onDenied()
      return undefined
    }
    this.#inFlight += 1
    const permit = new GatePermit(this, this.#inFlight, now)
    permit.previous = this.#newest
    if (this.#newest === undefined) this.#oldest = permit
    else this.#newest.next = permit
    this.#newest = permit
    return permit
  }

  #reclaim(now: number): void {
    for (let oldest = this.#oldest; oldest !== undefined; oldest = this.#oldest) {
      // NaN (undated) compares false, so an undated permit stops the sweep like a young one.
      if (!(now - oldest.takenAt >= this.#holdMs)) return
      oldest.release(undefined, now)
    }
  }

  /** @internal Called once per permit, by the permit. */
  settle(
    permit: GatePermit,
    latencyMs: number | undefined,
    inFlightAtStart: number,
    dropped: boolean,
    now: number,
  ): void {
    this.#inFlight -= 1
    const { previous, next } = permit
    if (previous === undefined) this.#oldest = next
    else previous.next = next
    if (next === undefined) this.#newest = previous
    else next.previous = previous
    permit.previous = undefined
    permit.next = undefined
    if (dropped) this.limit.onDrop(now)
    else if (latencyMs !== undefined) this.limit.onSample(latencyMs, inFlightAtStart, now)
  }
}

class GatePermit implements Permit {
  #gate: AdaptiveGate | undefined
  readonly #inFlightAtStart: number
  readonly takenAt: number
  previous: GatePermit | undefined
  next: GatePermit | undefined

  constructor(gate: AdaptiveGate, inFlightAtStart: number, takenAt: number) {
    this.#gate = gate
    this.#inFlightAtStart = inFlightAtStart
    this.takenAt = takenAt
  }

  release(latencyMs: number | undefined, now: number): void {
    const gate = this.#gate
    if (gate === undefined) return
    this.#gate = undefined
    gate.settle(this, latencyMs, this.#inFlightAtStart, false, now)
  }

  drop(now: number): void {
    const gate = this.#gate
    if (gate === undefined) return
    this.#gate = undefined
    gate.settle(this, undefined, this.#inFlightAtStart, true, now)
  }
}
