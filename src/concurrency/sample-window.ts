/**
 * The samples an adaptive limit collected since its last update, as Netflix concurrency-limits'
 * `WindowedLimit` gathers them: the limit moves once per window, on the window's average
 * latency, rather than on every sample, so a single slow or fast request does not move it.
 */
export class SampleWindow {
  startMs = 0
  count = 0
  sumMs = 0
  minMs = Number.POSITIVE_INFINITY
  /** Most requests in flight that any sample saw when it was admitted. */
  maxInFlight = 0
  /** A request failed in a way that signals overload (a timeout, the service shedding). */
  dropped = false
  /** A request was turned away because of this limit: demand exceeded what it admitted. */
  denied = false

  reset(now: number): void {
    this.startMs = now
    this.count = 0
    this.sumMs = 0
    this.minMs = Number.POSITIVE_INFINITY
    this.maxInFlight = 0
    this.dropped = false
    this.denied = false
  }

  add(latencyMs: number, inFlight: number): void {
    this.count += 1
    this.sumMs += latencyMs
    if (latencyMs < this.minMs) this.minMs = latencyMs
    if (inFlight > this.maxInFlight) this.maxInFlight = inFlight
  }

  get averageMs(): number {
    return this.count === 0 ? 0 : this.sumMs / this.count
  }

  /**
   * Whether the window holds enough to act on: `minSamples` samples spanning at least `spanMs`.
   * A drop closes it at once.
   */
  isComplete(now: number, minSamples: number, spanMs: number): boolean {
    if (this.dropped) return true
    return this.count >= minSamples && now - this.startMs >= spanMs
  }
}
