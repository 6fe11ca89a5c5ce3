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
 */
export class AdaptiveGate {
  readonly limit: VegasLimit
  readonly #shares: PriorityShares
  #inFlight = 0

  constructor(limit: VegasLimit, shares: PriorityShares = DEFAULT_PRIORITY_SHARES) {
    this.limit = limit
    this.#shares = shares
  }

  get inFlight(): number {
    return this.#inFlight
  }

  /** How many more requests of this priority would be admitted now. */
  remaining(priority: Priority = 'normal'): number {
    const cap = Math.min(capFor(this.limit.limit, this.#shares[priority]), this.limit.probeCap)
    return Math.max(0, cap - this.#inFlight)
  }

  tryAcquire(priority: Priority = 'normal'): Permit | undefined {
    if (this.remaining(priority) === 0) {
      this.limit.onDenied()
      return undefined
    }
    this.#inFlight += 1
    return new GatePermit(this, this.#inFlight)
  }

  /** @internal Called once per permit, by the permit. */
  settle(latencyMs: number | undefined, inFlightAtStart: number, dropped: boolean, now: number): void {
    this.#inFlight -= 1
    if (dropped) this.limit.onDrop(now)
    else if (latencyMs !== undefined) this.limit.onSample(latencyMs, inFlightAtStart, now)
  }
}

class GatePermit implements Permit {
  #gate: AdaptiveGate | undefined
  readonly #inFlightAtStart: number

  constructor(gate: AdaptiveGate, inFlightAtStart: number) {
    this.#gate = gate
    this.#inFlightAtStart = inFlightAtStart
  }

  release(latencyMs: number | undefined, now: number): void {
    const gate = this.#gate
    if (gate === undefined) return
    this.#gate = undefined
    gate.settle(latencyMs, this.#inFlightAtStart, false, now)
  }

  drop(now: number): void {
    const gate = this.#gate
    if (gate === undefined) return
    this.#gate = undefined
    gate.settle(undefined, this.#inFlightAtStart, true, now)
  }
}
