/**
 * A service with a fixed capacity: `slots` requests are served at once, each holding its slot
 * for about `serviceMs` (uniformly ±10 %, so requests do not finish in lockstep), and the rest
 * wait in one FIFO queue. Past capacity, work does not fail, it waits: latency grows with load,
 * which is what an overloaded service with a worker pool does.
 */
export class SlotPool {
  readonly #slots: number
  readonly #serviceMs: number
  readonly #maxQueue: number
  readonly #queue: (() => void)[] = []
  #busy = 0

  constructor(slots: number, serviceMs: number, maxQueue: number) {
    this.#slots = slots
    this.#serviceMs = serviceMs
    this.#maxQueue = maxQueue
  }

  /**
   * Serves one request, calling `done` once it has held a slot for its service time; false
   * (and `done` is never called) when the queue is full.
   */
  serve(done: () => void): boolean {
    if (this.#busy < this.#slots) {
      this.#start(done)
      return true
    }
    if (this.#queue.length >= this.#maxQueue) return false
    this.#queue.push(done)
    return true
  }

  /**
   * A request taken from the queue starts when the previous one was due to end, not when its
   * timer happened to fire: timers fire late, and without this the pool would serve a few
   * percent under its nominal capacity, more so on a busy machine. It catches up at most one
   * service time, so a process that stalled does not then serve a burst at once.
   */
  #start(done: () => void, startMs = performance.now()): void {
    this.#busy += 1
    const endMs = startMs + this.#serviceMs * (0.9 + 0.2 * Math.random())
    setTimeout(() => {
      this.#busy -= 1
      done()
      const next = this.#queue.shift()
      if (next) this.#start(next, Math.max(endMs, performance.now() - this.#serviceMs))
    }, endMs - performance.now())
  }
}
