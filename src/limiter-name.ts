/** A limiter's name when none is given. */
export const DEFAULT_LIMITER_NAME = 'default'

/** Longest limiter name: it becomes a metrics label value on every series of the limiter. */
export const MAX_LIMITER_NAME_LENGTH = 128

// Printable ASCII: a name ends up in Prometheus label values and log lines, where control
// characters or invisible look-alikes would make two limiters hard to tell apart.
const PRINTABLE = /^[\x20-\x7e]+$/

export const LIMITER_NAME_ERROR = `must be 1 to ${MAX_LIMITER_NAME_LENGTH} printable characters without leading or trailing spaces, such as "api"`

export function isLimiterName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length <= MAX_LIMITER_NAME_LENGTH &&
    PRINTABLE.test(name) &&
    name.trim() === name
  )
}

/**
 * `name` if it is a usable limiter name, `DEFAULT_LIMITER_NAME` if undefined; otherwise a
 * TypeError that starts with `where` (e.g. `dianaMetrics: name`).
 */
export function checkLimiterName(name: unknown, where: string): string {
  if (name === undefined) return DEFAULT_LIMITER_NAME
  if (!isLimiterName(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name
    throw new TypeError(`${where} ${LIMITER_NAME_ERROR} (got ${shown})`)
  }
  return name
}
