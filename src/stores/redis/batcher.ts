/**
 * Gathers checks into batches, so that checks started together go to Redis in one script call
 * rather than one round trip each, without making a lone check wait for company.
 *
 * An item that finds no call of this batcher in flight (and so nothing pending) is sent at
 * once, alone: at low concurrency there is nothing to batch with, and waiting for a batch to
 * fill would only add latency. While a call is in flight, items are gathered and sent on the
 * next tick (`process.nextTick`, so items added while this tick's promise reactions run still
 * join), or at once when the batch reaches `maxSize`, which bounds the script's work per call.
 * At high concurrency a call is nearly always in flight, so checks are batched as before and
 * several calls stay pipelined, Redis working on one while this process prepares the next.
 *
 * The sender calls `done` once per call when its reply (or failure, or timeout) has come.
 */
export class Batcher<T> {
  #pending: T[] = []
  #scheduled = false
  /** Calls sent and not yet `done`. */
  #inFlight = 0
  readonly #maxSize: number
  readonly #send: (batch: T[], done: () => void) => void

  constructor(maxSize: number, send: (batch: T[], done: () => void) => void) {
    this.#maxSize = maxSize
    this.#send = send
  }

  /** Calls sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight
  }

  add(item: T): void {
    if (this.#inFlight === 0 && this.#pending.length === 0) {
      this.#inFlight++
      this.#send([item], this.#done)
      return
    }
    this.#pending.push(item)
    if (this.#pending.length >= this.#maxSize) {
      this.#flush()
    } else if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#flushTick)
    }
  }

  readonly #done = (): void => {
    if (this.#inFlight > 0) this.#inFlight--
  }

  readonly #flushTick = (): void => {
    this.#scheduled = false
    this.#flush()
  }

  #flush(): void {
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    this.#inFlight++
    this.#send(batch, this.#done)
  }
}
