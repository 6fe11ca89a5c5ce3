import type { Priority } from '../../src/concurrency/priority'
import { mulberry32 } from '../support/prng'

/** What the simulation drives: anything that admits a request or not, like `AdaptiveGate`. */
export interface SimulatedGate {
  tryAcquire(
    priority: Priority,
    now: number,
  ): { release(latencyMs: number | undefined, now: number): void } | undefined
  /** The limit in force, recorded over time. */
  readonly currentLimit: number
  /** How long a turned-away client waits before it tries again. */
  retryAfterMs(now: number): number
}

export interface Completion {
  priority: Priority
  startMs: number
  latencyMs: number
}

export interface ServiceOptions {
  /** Requests served at once; the rest wait in one FIFO queue. */
  slots: number
  /** Mean service time of one request, in ms. */
  serviceMs: number
  /** Service times are spread uniformly over ±`jitter` × `serviceMs`. */
  jitter?: number
  seed?: number
}

interface Event {
  at: number
  seq: number
  run: () => void
}

/**
 * A service with a fixed capacity in virtual time: `slots` workers, a FIFO queue in front of
 * them (so latency grows with load instead of requests failing), and closed-loop clients that
 * each send their next request as soon as the last one is answered, or `retryAfterMs` after
 * being turned away. Capacity is `slots / serviceMs` requests per ms; N clients offer about
 * N / slots times that.
 */
export class QueueingService {
  now = 0
  readonly completions: Completion[] = []
  readonly denials: { priority: Priority; atMs: number }[] = []
  readonly limitTrace: { atMs: number; limit: number }[] = []
  serviceMs: number
  readonly #options: Required<ServiceOptions>
  readonly #gate: SimulatedGate
  readonly #random: () => number
  #events: Event[] = []
  #seq = 0
  #busy = 0
  readonly #waiting: (() => void)[] = []
  /** Priorities of the clients; a client whose index is beyond `#active` stops. */
  #clients: Priority[] = []
  #active = 0

  constructor(gate: SimulatedGate, options: ServiceOptions) {
    this.#gate = gate
    this.#options = { jitter: 0.1, seed: 1, ...options }
    this.serviceMs = options.serviceMs
    this.#random = mulberry32(this.#options.seed)
  }

  /** Requests per ms the service completes when every slot is busy. */
  get capacityPerMs(): number {
    return this.#options.slots / this.serviceMs
  }

  /** Runs `count` closed-loop clients from now on, with priorities taken in turn from `mix`. */
  setClients(count: number, mix: readonly Priority[] = ['normal']): void {
    const started = this.#active
    this.#clients = Array.from({ length: count }, (_, i) => mix[i % mix.length] ?? 'normal')
    this.#active = count
    for (let client = started; client < count; client++) this.#send(client)
  }

  run(forMs: number): void {
    const until = this.now + forMs
    let lastTrace = Number.NEGATIVE_INFINITY
    for (;;) {
      const event = this.#pop()
      if (event === undefined || event.at > until) {
        if (event !== undefined) this.#push(event.at, event.run)
        break
      }
      this.now = event.at
      event.run()
      if (this.now - lastTrace >= this.serviceMs / 4) {
        this.limitTrace.push({ atMs: this.now, limit: this.#gate.currentLimit })
        lastTrace = this.now
      }
    }
    this.now = until
  }

  #send(client: number): void {
    if (client >= this.#active) return
    const priority = this.#clients[client] ?? 'normal'
    const startMs = this.now
    const permit = this.#gate.tryAcquire(priority, startMs)
    if (permit === undefined) {
      this.denials.push({ priority, atMs: startMs })
      this.#push(startMs + Math.max(0.001, this.#gate.retryAfterMs(startMs)), () => this.#send(client))
      return
    }
    this.#serve(() => {
      const latencyMs = this.now - startMs
      permit.release(latencyMs, this.now)
      this.completions.push({ priority, startMs, latencyMs })
      this.#send(client)
    })
  }

  #serve(done: () => void): void {
    const start = () => {
      this.#busy += 1
      const spread = 1 + this.#options.jitter * (2 * this.#random() - 1)
      this.#push(this.now + this.serviceMs * spread, () => {
        this.#busy -= 1
        this.#waiting.shift()?.()
        done()
      })
    }
    if (this.#busy < this.#options.slots) start()
    else this.#waiting.push(start)
  }

  #push(at: number, run: () => void): void {
    const heap = this.#events
    const event = { at, seq: this.#seq++, run }
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(event, heap[parent] as Event)) break
      heap[i] = heap[parent] as Event
      i = parent
    }
    heap[i] = event
  }

  #pop(): Event | undefined {
    const heap = this.#events
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && before(heap[right] as Event, heap[left] as Event) ? right : left
      if (!before(heap[child] as Event, last)) break
      heap[i] = heap[child] as Event
      i = child
    }
    heap[i] = last
    return top
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** The value below which `fraction` of `values` lie. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number
}
