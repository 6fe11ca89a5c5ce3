/**
 * The tuning of {@link VegasLimit}. Every field has a default that needs no tuning for a service
 * whose latency grows when it queues; `maxLimit` is the rule's `limit`.
 */
export interface VegasOptions {
  /** The limit never falls below this; keep it under the service's real capacity. */
  minLimit: number
  /** The limit never grows above this (the rule's `limit`). */
  maxLimit: number
  /** Where the limit starts, before any latency is known. */
  initialLimit: number
  /** Grow while the estimated queue is under `alpha × log10(limit)` requests. */
  alpha: number
  /** Shrink once the estimated queue is over `beta × log10(limit)` requests. */
  beta: number
  /** Fewest samples in a window before the limit moves. */
  windowSamples: number
  /** Re-measure the no-load latency after about this many samples per unit of limit. */
  probeMultiplier: number
}

export const DEFAULT_VEGAS_OPTIONS: VegasOptions = {
  minLimit: 1,
  maxLimit: 1000,
  initialLimit: 10,
  alpha: 3,
  beta: 6,
  windowSamples: 10,
  probeMultiplier: 30,
}

/** The options with defaults filled in; throws a RangeError naming the first bad field. */
export function vegasOptions(given: Partial<VegasOptions> = {}): VegasOptions {
  const options = { ...DEFAULT_VEGAS_OPTIONS, ...given }
  if (given.initialLimit === undefined) {
    options.initialLimit = Math.min(Math.max(options.initialLimit, options.minLimit), options.maxLimit)
  }
  for (const field of ['minLimit', 'maxLimit', 'initialLimit', 'windowSamples'] as const) {
    const value = options[field]
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`adaptive concurrency: ${field} must be a whole number >= 1 (got ${value})`)
    }
  }
  for (const field of ['alpha', 'beta', 'probeMultiplier'] as const) {
    const value = options[field]
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`adaptive concurrency: ${field} must be a number > 0 (got ${value})`)
    }
  }
  if (options.minLimit > options.maxLimit) {
    throw new RangeError(
      `adaptive concurrency: minLimit ${options.minLimit} is above limit ${options.maxLimit}`,
    )
  }
  if (options.initialLimit < options.minLimit || options.initialLimit > options.maxLimit) {
    throw new RangeError(
      `adaptive concurrency: initialLimit ${options.initialLimit} is outside [${options.minLimit}, ${options.maxLimit}]`,
    )
  }
  if (options.alpha >= options.beta) {
    throw new RangeError(`adaptive concurrency: alpha ${options.alpha} must be below beta ${options.beta}`)
  }
  return options
}
