/**
 * Sampling discipline shared by every Diana benchmark: contestants take turns (A B A B ...)
 * so that CPU frequency drift, a noisy neighbour or a GC pause lands on both alike, and the
 * figures reported are medians with their min–max spread, never a single lucky run.
 */

/** Median, min and max of a list of samples. */
export interface Spread {
  median: number
  min: number
  max: number
}

export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number }
}

/**
 * Runs `measure(contestant, round)` for every contestant in turn, `warmups` rounds that are
 * thrown away, then `samples` rounds that are kept. Returns the kept samples per contestant.
 */
export async function interleave<C extends string>(
  contestants: readonly C[],
  options: { warmups: number; samples: number },
  measure: (contestant: C, round: number) => Promise<number>,
): Promise<Record<C, number[]>> {
  const kept = Object.fromEntries(contestants.map((c) => [c, [] as number[]])) as Record<C, number[]>
  for (let round = 0; round < options.warmups + options.samples; round++) {
    // Alternate who goes first, so neither always runs right after a collection of the other's garbage.
    const order = round % 2 === 0 ? contestants : [...contestants].reverse()
    for (const contestant of order) {
      const value = await measure(contestant, round)
      if (round >= options.warmups) kept[contestant].push(value)
    }
  }
  return kept
}

/**
 * A distribution-free 95% confidence interval for the median of `samples`: the order
 * statistics k and n - k + 1 (1-based) with k = ⌊n/2 - 0.98·√n⌋, from the binomial law of how
 * many samples fall below the true median (normal approximation; use at least about 10).
 */
export function medianInterval(samples: readonly number[]): [low: number, high: number] {
  const sorted = [...samples].sort((a, b) => a - b)
  const n = sorted.length
  const k = Math.max(1, Math.floor(n / 2 - 0.98 * Math.sqrt(n)))
  return [sorted[k - 1] as number, sorted[n - k] as number]
}
