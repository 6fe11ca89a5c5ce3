/**
 * Gathers items added in the same tick into one batch, so that checks started together go to
 * Redis in one script call rather than one round trip each. The batch is sent on the next
 * tick (`process.nextTick`, so checks started while this tick's promise reactions run still
 * join it), or at once when it reaches `maxSize`, which bounds the script's work per call.
 */
export class Batcher<T> {
  #pending: T[] = []
  #scheduled = false
  readonly #maxSize: number
  readonly #send: (batch: T[]) => void

  constructor(maxSize: number, send: (batch: T[]) => void) {
    this.#maxSize = maxSize
    this.#send = send
  }

  add(item: T): void {
    this.#pending.push(item)
    if (this.#pending.length >= this.#maxSize) {
      this.#flush()
    } else if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flushTick)
    }
  }

  readonly #flushTick = (): void => {
    this.#scheduled = false
    this.#flush()
  }

  #flush(): void {
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    this.#send(batch)
  }
}
