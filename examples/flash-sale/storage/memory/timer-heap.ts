interface Entry {
  at: number
  id: string
}

/**
 * A min-heap of (due time, id): the in-process delay queue. Rescheduling or cancelling leaves
 * the old entry in the heap and marks it stale through `#due`, which keeps every operation
 * O(log n) without searching the heap; stale entries are dropped when they reach the top.
 */
export class TimerHeap {
  readonly #heap: Entry[] = []
  readonly #due = new Map<string, number>()

  /** Ids waiting. */
  get size(): number {
    return this.#due.size
  }

  /** Puts `id` in the queue for `at`, replacing any earlier schedule of the same id. */
  schedule(id: string, at: number): void {
    this.#due.set(id, at)
    this.#push({ at, id })
  }

  cancel(id: string): void {
    this.#due.delete(id)
  }

  /** The earliest due time, or undefined when nothing waits. */
  nextAt(): number | undefined {
    this.#dropStale()
    return this.#heap[0]?.at
  }

  /** Ids due at `now` (earliest first, at most `max`), left in the queue: callers cancel or reschedule. */
  due(now: number, max: number): string[] {
    const ids: string[] = []
    const skipped: Entry[] = []
    while (ids.length < max) {
      this.#dropStale()
      const top = this.#heap[0]
      if (top === undefined || top.at > now) break
      this.#pop()
      // The same id scheduled twice for the same time leaves two live entries; report it once.
      if (!ids.includes(top.id)) ids.push(top.id)
      skipped.push(top)
    }
    for (const entry of skipped) this.#push(entry)
    return ids
  }

  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0]
      if (top === undefined || this.#due.get(top.id) === top.at) return
      this.#pop()
    }
  }

  #push(entry: Entry): void {
    const heap = this.#heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((heap[parent] as Entry).at <= entry.at) break
      heap[i] = heap[parent] as Entry
      i = parent
    }
    heap[i] = entry
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && (heap[right] as Entry).at < (heap[left] as Entry).at ? right : left
      if ((heap[child] as Entry).at >= last.at) break
      heap[i] = heap[child] as Entry
      i = child
    }
    heap[i] = last
  }
}
