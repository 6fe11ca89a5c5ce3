/**
 * A whole-number view of a quantity computed in floating point. Refill rates such as 3 per
 * 1000 ms are not exact in binary, so 2.9999999999 tokens must still count as 3 remaining.
 */
const EPSILON = 1e-9

export function wholeFloor(x: number): number {
  return Math.max(0, Math.floor(x + EPSILON))
}
