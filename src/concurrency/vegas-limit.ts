import { SampleWindow } from './sample-window'
import { type VegasOptions, vegasOptions } from './vegas-options'

/** Netflix's scale for Vegas' thresholds: 1 below a limit of 100, 2 up to 999, and so on. */
function log10Scale(limit: number): number {
  return Math.max(1, Math.floor(Math.log10(limit)))
}

/** A window this much faster than the anchor means the service sped up, not noise. */
const FASTER = 0.9

/**
 * Latencies are compared as at least this long. A clock in whole milliseconds reads a fast
 * service as 0 or 1 ms, and the scatter between such windows would look like a queue; a queue
 * that costs less than a millisecond is not worth shedding for anyway (Netflix likewise ignores
 * samples under 0.1 ms).
 */
const RESOLUTION_MS = 1

function floored(latencyMs: number): number {
  return Math.max(RESOLUTION_MS, latencyMs)
}

type Phase = 'steady' | 'draining' | 'measuring'

/**
 * An in-flight limit learned from latency with TCP Vegas, as Netflix concurrency-limits'
 * `VegasLimit` runs it over a `WindowedLimit`: the no-load latency (the fastest window seen) is
 * the anchor, and a window's average latency tells how many of the limit's requests were queued,
 * `queue = limit × (1 − noLoad / average)`. Below `log10(limit)` the limit grows fast (by
 * `beta × log10`), below `alpha × log10` by `log10`; above `beta × log10` it shrinks by `log10`.
 * A service at capacity thus holds a short queue of a few requests, whatever its size.
 *
 * The anchor is re-measured every `probeMultiplier × limit` samples (jittered, as Netflix does).
 * Netflix simply takes the latest latency as the new anchor, which under steady overload already
 * contains the queue, so each probe lets the queue grow by another few requests. Here the probe
 * first caps the requests in flight at what the service holds without a queue, for one window to
 * drain it and one to measure (as Envoy's adaptive concurrency filter and BBR's ProbeRTT do, but
 * only down to the estimated capacity, not to a handful of requests), so the anchor stays the
 * no-load latency and a probe costs little throughput.
 *
 * No timers: time comes only from the `now` (ms) passed with each event.
 */
export class VegasLimit {
  readonly options: VegasOptions
  readonly #random: () => number
  readonly #window = new SampleWindow()
  #estimate: number
  #noLoadMs: number | undefined
  #lastAverageMs: number | undefined
  #phase: Phase = 'steady'
  #pinned = 0
  #samplesUntilProbe: number

  constructor(options: Partial<VegasOptions> = {}, now = 0, random: () => number = Math.random) {
    this.options = vegasOptions(options)
    this.#random = random
    this.#estimate = this.options.initialLimit
    this.#samplesUntilProbe = this.#nextProbeIn()
    this.#window.reset(now)
  }

  /** The learned limit: a whole number in [minLimit, maxLimit]. */
  get limit(): number {
    return Math.floor(this.#estimate)
  }

  /**
   * While the no-load latency is re-measured, the most requests of any priority in flight;
   * otherwise Infinity.
   */
  get probeCap(): number {
    return this.#phase === 'steady' ? Number.POSITIVE_INFINITY : this.#pinned
  }

  /** The no-load latency the limit is anchored to; undefined until a first window completes. */
  get noLoadMs(): number | undefined {
    return this.#noLoadMs
  }

  /** The average latency of the last complete window; undefined before one completes. */
  get latencyMs(): number | undefined {
    return this.#lastAverageMs
  }

  /** A request admitted with `inFlight` requests in flight (itself included) took `latencyMs`. */
  onSample(latencyMs: number, inFlight: number, now: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return
    this.#window.add(latencyMs, inFlight)
    this.#maybeUpdate(now)
  }

  /** A request failed in a way that signals overload; Vegas treats it as a lost packet. */
  onDrop(now: number): void {
    this.#window.dropped = true
    this.#maybeUpdate(now)
  }

  /** A request was turned away by this limit, so demand exceeded it: growing is warranted. */
  onDenied(): void {
    this.#window.denied = true
  }

  #maybeUpdate(now: number): void {
    const window = this.#window
    // Netflix spans a window over twice its fastest sample; with latencies that vary a lot that
    // is a handful of samples whose average is mostly noise, so the span here is twice the
    // no-load latency: each window then holds about two generations of the requests in flight.
    const span = 2 * (this.#noLoadMs ?? window.averageMs)
    if (!window.isComplete(now, this.options.windowSamples, span)) return
    if (window.dropped) {
      this.#phase = 'steady'
      this.#setEstimate(this.#estimate - log10Scale(this.#estimate))
    } else if (window.count > 0) {
      this.#onWindow(window)
    }
    window.reset(now)
  }

  #onWindow(window: SampleWindow): void {
    const average = window.averageMs
    this.#lastAverageMs = average
    if (this.#phase === 'draining') {
      this.#phase = 'measuring'
      return
    }
    if (this.#phase === 'measuring') {
      this.#phase = 'steady'
      this.#noLoadMs = average
      return
    }
    // Netflix takes any faster window as the new no-load latency. Window averages scatter, and
    // the fastest of many is faster than the service really is, which reads as a queue that is
    // not there; so only a clearly faster window (the service itself sped up) moves the anchor
    // down at once, and smaller changes wait for the next probe.
    if (this.#noLoadMs === undefined || average < this.#noLoadMs * FASTER) {
      this.#noLoadMs = average
      return
    }
    const queue = Math.ceil(this.#estimate * (1 - floored(this.#noLoadMs) / floored(average)))
    this.#samplesUntilProbe -= window.count
    // A probe sheds a little, which is worth it only while the limit is already shedding: until
    // then the limit does not bind, and nothing depends on the anchor.
    if (this.#samplesUntilProbe <= 0 && window.denied) {
      this.#startProbe(window, this.#noLoadMs)
      return
    }
    // Netflix's guard against upward drift: a limit that nobody fills says nothing about capacity.
    const used = window.denied || window.maxInFlight * 2 >= this.#estimate
    if (!used) return
    const scale = log10Scale(this.#estimate)
    if (queue <= scale) this.#setEstimate(this.#estimate + this.options.beta * scale)
    else if (queue < this.options.alpha * scale) this.#setEstimate(this.#estimate + scale)
    else if (queue > this.options.beta * scale) this.#setEstimate(this.#estimate - scale)
  }

  /**
   * By Little's law the requests in flight times `noLoad / average` is how many keep the service
   * busy without a queue; a tenth less makes sure the queue drains even if the anchor has crept
   * up, so each probe brings it back down.
   */
  #startProbe(window: SampleWindow, noLoadMs: number): void {
    this.#samplesUntilProbe = this.#nextProbeIn()
    const unqueued = (window.maxInFlight * noLoadMs) / window.averageMs
    this.#pinned = Math.max(this.options.minLimit, Math.floor(unqueued * 0.9))
    this.#phase = 'draining'
  }

  #nextProbeIn(): number {
    const jitter = 0.5 + 0.5 * this.#random()
    return jitter * this.options.probeMultiplier * this.#estimate
  }

  #setEstimate(value: number): void {
    this.#estimate = Math.min(this.options.maxLimit, Math.max(this.options.minLimit, value))
  }
}
