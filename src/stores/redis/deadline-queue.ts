/**
 * A timer firing this much after its time means the event loop was blocked (busy CPU, a long
 * synchronous task): the time is this process's, not Redis's, and a deadline then gets another
 * full term, at most {@link MAX_STALLS} times.
 */
export const STALL_MS = 10
export const MAX_STALLS = 3

/** One call's deadline: `cancel()` once its reply has come. */
export interface Deadline {
  cancel(): void
}

class Entry implements Deadline {
  due: number
  stalls = 0
  cancelled = false
  readonly #queue: DeadlineQueue
  readonly onExpire: () => void

  constructor(queue: DeadlineQueue, due: number, onExpire: () => void) {
    this.#queue = queue
    this.due = due
    this.onExpire = onExpire
  }

  cancel(): void {
    if (this.cancelled) return
    this.cancelled = true
    this.#queue.dropSettled()
  }
}

/**
 * Deadlines of one length, `ms`, for calls to Redis, kept on one timer rather than a timer
 * each: a check's round trip on a quiet store then costs no setTimeout and clearTimeout of
 * its own. Deadlines of one length expire in the order they started, so they are a FIFO and
 * the timer is armed for the oldest live one; a cancelled deadline is dropped from the front
 * as soon as it gets there (replies mostly come in order), so the queue holds about the calls
 * in flight.
 *
 * What a deadline measures is kept from a timer per call: `onExpire` runs once `ms` have passed
 * during which this process could have read a reply. Timers run before the event loop's poll
 * phase reads sockets, so after a blocked loop an expired timer would fire with the reply still
 * unread: expiry waits for `setImmediate`, which runs after that phase. And a deadline whose
 * timer fires more than {@link STALL_MS} late measured a blocked loop, whose time does not count
 * against Redis: it gets another full term, at most {@link MAX_STALLS} times.
 */
export class DeadlineQueue {
  readonly #ms: number
  /**
   * The deadlines in order of `due`, each with the due it was queued with: a deadline given
   * another term is queued again at the back, and its old place, whose due no longer matches,
   * is skipped as settled.
   */
  #entries: Entry[] = []
  #dues: number[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined
  /** When `#timer` fires (performance.now()); meaningful while `#timer` is set. */
  #timerDue = 0
  /** Whether `#timer` keeps the process alive: only while some deadline is live. */
  #refed = false

  constructor(ms: number) {
    this.#ms = ms
  }

  /** Deadlines not yet expired nor cancelled, counted with cancelled ones not yet dropped. */
  get size(): number {
    return this.#entries.length - this.#head
  }

  start(onExpire: () => void): Deadline {
    const due = performance.now() + this.#ms
    const entry = new Entry(this, due, onExpire)
    this.#entries.push(entry)
    this.#dues.push(due)
    this.#arm(due)
    return entry
  }

  /** Drops cancelled deadlines from the front; with none live left, the timer lets the process exit. */
  dropSettled(): void {
    const entries = this.#entries
    while (this.#head < entries.length && !this.#live(this.#head)) this.#head++
    if (this.#head === entries.length) {
      this.#entries = []
      this.#dues = []
      this.#head = 0
      if (this.#refed && this.#timer !== undefined) {
        this.#timer.unref()
        this.#refed = false
      }
    } else if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head)
      this.#dues = this.#dues.slice(this.#head)
      this.#head = 0
    }
  }

  #live(i: number): boolean {
    const entry = this.#entries[i] as Entry
    return !entry.cancelled && entry.due === this.#dues[i]
  }

  /** Makes sure the timer fires by `due` and keeps the process alive. */
  #arm(due: number): void {
    const timer = this.#timer
    if (timer !== undefined && this.#timerDue <= due) {
      if (!this.#refed) {
        timer.ref()
        this.#refed = true
      }
      return
    }
    if (timer !== undefined) clearTimeout(timer)
    this.#timerDue = due
    this.#refed = true
    this.#timer = setTimeout(this.#fire, Math.max(0, due - performance.now()))
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    this.#refed = false
    const firedAt = performance.now()
    const entries = this.#entries
    // The deadlines due by now, each with how late its own timer would have fired.
    const due: Entry[] = []
    const late: number[] = []
    for (let i = this.#head; i < entries.length; i++) {
      if ((this.#dues[i] as number) > firedAt) break
      if (!this.#live(i)) continue
      const entry = entries[i] as Entry
      due.push(entry)
      late.push(firedAt - entry.due)
    }
    if (due.length === 0) {
      this.#rearm()
      return
    }
    setImmediate(() => {
      for (let i = 0; i < due.length; i++) {
        const entry = due[i] as Entry
        if (entry.cancelled) continue
        if ((late[i] as number) > STALL_MS && entry.stalls < MAX_STALLS) {
          // Another full term from now: later than every deadline queued, so it goes last.
          entry.stalls++
          entry.due = performance.now() + this.#ms
          this.#entries.push(entry)
          this.#dues.push(entry.due)
          continue
        }
        entry.cancelled = true
        entry.onExpire()
      }
      this.dropSettled()
      this.#rearm()
    })
  }

  /** Arms the timer for the oldest live deadline, if any. */
  #rearm(): void {
    const entries = this.#entries
    for (let i = this.#head; i < entries.length; i++) {
      if (this.#live(i)) {
        this.#arm(this.#dues[i] as number)
        return
      }
    }
  }
}
