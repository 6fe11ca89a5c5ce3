/**
 * Counts per second over the last `seconds` seconds, in a fixed ring: memory does not grow with
 * traffic or time. Each slot remembers which second it counts, so a slot left over from a
 * second long past reads as 0 instead of being cleared on a timer.
 *
 * Time comes from the caller (the dashboard's clock), so tests drive it with a fake clock.
 */
export class PerSecondSeries {
  readonly #counts: Float64Array
  /** The second (ms since the epoch / 1000, floored) each slot counts; -1 for none. */
  readonly #seconds: Float64Array

  constructor(readonly seconds: number) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('seconds must be a whole number ≥ 1')
    this.#counts = new Float64Array(seconds)
    this.#seconds = new Float64Array(seconds).fill(-1)
  }

  /** Adds `amount` to the second holding `nowMs`. */
  add(nowMs: number, amount = 1): void {
    const second = Math.floor(nowMs / 1000)
    const slot = second % this.seconds
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second
      this.#counts[slot] = 0
    }
    ;(this.#counts as Float64Array)[slot] = (this.#counts[slot] as number) + amount
  }

  /**
   * The counts of the `seconds` whole seconds ending with the one holding `nowMs`, oldest
   * first: slots of seconds outside that span (or never written) are 0.
   */
  window(nowMs: number): number[] {
    const last = Math.floor(nowMs / 1000)
    const out = new Array<number>(this.seconds)
    for (let i = 0; i < this.seconds; i++) {
      const second = last - this.seconds + 1 + i
      const slot = ((second % this.seconds) + this.seconds) % this.seconds
      out[i] = this.#seconds[slot] === second ? (this.#counts[slot] as number) : 0
    }
    return out
  }

  /** The count of one second (by `nowMs`), 0 when the ring no longer holds it. */
  at(nowMs: number): number {
    const second = Math.floor(nowMs / 1000)
    const slot = ((second % this.seconds) + this.seconds) % this.seconds
    return this.#seconds[slot] === second ? (this.#counts[slot] as number) : 0
  }
}
