/**
 * A whole-number view of a quantity computed in floating point. Refill rates such as 3 per
 * 1000 ms are not exact in binary, so 2.9999999999 tokens must still count as 3 remaining.
 */
const EPSILON = 1e-9

export function wholeFloor(x: number): number {
  return Math.max(0, Math.floor(x + EPSILON))
}

/**
 * The whole units in a quantity the algorithms count in 1/`scale` units (tokens·W, the
 * estimate·W), never below 0. The division is the only rounding, so whole-ms clocks and whole
 * costs give an exact answer; no epsilon, unlike {@link wholeFloor}.
 */
export function wholeUnits(scaled: number, scale: number): number {
  return Math.max(0, Math.floor(scaled / scale))
}
