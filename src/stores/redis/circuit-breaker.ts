/**
 * Whether checks go to Redis (`closed`), are decided locally while it is probed (`open`), or go
 * to Redis again after a probe answered, with the outage not yet declared over (`trial`).
 */
export type BreakerState = 'closed' | 'open' | 'trial'

export interface CircuitBreakerOptions {
  failureThreshold: number
  probeMinMs: number
  probeMaxMs: number
  /** One attempt to do the real work (a script call), not merely to reach the backend. */
  probe(): Promise<void>
  onOpen(reason: string): void
  onClose(downMs: number): void
  /** Monotonic ms, for the outage length in `onClose`. */
  now(): number
}

/**
 * Stops sending to a backend that keeps failing. After `failureThreshold` consecutive
 * failures it opens: nothing is sent, and a probe runs after `probeMinMs`, then after twice
 * that, up to `probeMaxMs`, each with ±20% jitter so a fleet does not probe in lockstep.
 *
 * A probe that answers puts it on `trial`: calls go through again, but the outage only ends
 * (`onClose`) with the first call that succeeds (the Redis store counts its periodic
 * heartbeat as one, so an idle store recovers too). A failure on trial reopens it silently and
 * the backoff goes on, so a backend that answers probes yet fails the real work (out of
 * memory, no scripting rights) is one outage, reported once, not a flapping pair per probe.
 */
export class CircuitBreaker {
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #delay = 0
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  readonly #options: CircuitBreakerOptions

  constructor(options: CircuitBreakerOptions) {
    this.#options = options
  }

  get state(): BreakerState {
    return this.#state
  }

  /** True while calls are held back and decided locally. */
  get isOpen(): boolean {
    return this.#state === 'open'
  }

  success(): void {
    this.#failures = 0
    if (this.#state === 'trial') this.reset()
  }

  failure(reason: string): void {
    if (this.#state === 'open' || this.#stopped) return
    if (this.#state === 'trial') {
      // The same outage goes on: no second onOpen, and the probe backs off further.
      this.#state = 'open'
      this.#delay = Math.min(this.#delay * 2, this.#options.probeMaxMs)
      this.#schedule()
      return
    }
    this.#failures += 1
    if (this.#failures < this.#options.failureThreshold) return
    this.#state = 'open'
    this.#openedAt = this.#options.now()
    this.#delay = this.#options.probeMinMs
    this.#options.onOpen(reason)
    this.#schedule()
  }

  /** Closes at once (a caller saw the backend do real work); no-op when already closed. */
  reset(): void {
    if (this.#state === 'closed') return
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#state = 'closed'
    this.#failures = 0
    this.#options.onClose(this.#options.now() - this.#openedAt)
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    if (this.#stopped) return
    const jittered = this.#delay * (0.8 + Math.random() * 0.4)
    this.#timer = setTimeout(() => this.#probe(), jittered)
    this.#timer.unref()
  }

  #probe(): void {
    this.#timer = undefined
    this.#options.probe().then(
      () => {
        if (!this.#stopped && this.#state === 'open') this.#state = 'trial'
      },
      () => {
        if (this.#stopped || this.#state !== 'open') return
        this.#delay = Math.min(this.#delay * 2, this.#options.probeMaxMs)
        this.#schedule()
      },
    )
  }
}
