/** Whether checks go to Redis (`closed`) or are decided locally while it is probed (`open`). */
export type BreakerState = 'closed' | 'open'

export interface CircuitBreakerOptions {
  failureThreshold: number
  probeMinMs: number
  probeMaxMs: number
  /** One attempt to reach the backend; resolves when it answered. */
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
 * The first probe that answers closes it again.
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

  get isOpen(): boolean {
    return this.#state === 'open'
  }

  success(): void {
    this.#failures = 0
  }

  failure(reason: string): void {
    if (this.#state === 'open' || this.#stopped) return
    this.#failures += 1
    if (this.#failures < this.#options.failureThreshold) return
    this.#state = 'open'
    this.#openedAt = this.#options.now()
    this.#delay = this.#options.probeMinMs
    this.#options.onOpen(reason)
    this.#schedule()
  }

  /** Closes at once (a caller saw the backend answer); no-op when already closed. */
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
        if (!this.#stopped) this.reset()
      },
      () => {
        if (this.#stopped || this.#state === 'closed') return
        this.#delay = Math.min(this.#delay * 2, this.#options.probeMaxMs)
        this.#schedule()
      },
    )
  }
}
