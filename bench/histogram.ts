/**
 * Latency histogram with logarithmic buckets (about 2% wide), so recording is one Math.log2
 * and one increment, memory is fixed, and a percentile is accurate to the bucket width at any
 * scale, from a 200 ns memory check to a 2 ms Redis round trip.
 */
const BUCKETS_PER_DOUBLING = 32
const BUCKET_COUNT = 64 * BUCKETS_PER_DOUBLING

export class Histogram {
  readonly #counts = new Float64Array(BUCKET_COUNT)
  #total = 0

  /** Records one latency in nanoseconds. */
  record(ns: number): void {
    const index = ns <= 1 ? 0 : Math.min(BUCKET_COUNT - 1, Math.floor(Math.log2(ns) * BUCKETS_PER_DOUBLING))
    this.#counts[index] = (this.#counts[index] as number) + 1
    this.#total++
  }

  get count(): number {
    return this.#total
  }

  /** Adds another histogram's counts to this one. */
  merge(other: Histogram): void {
    for (let i = 0; i < BUCKET_COUNT; i++) this.#counts[i] = (this.#counts[i] as number) + other.#counts[i]!
    this.#total += other.#total
  }

  /** The non-empty buckets as [index, count] pairs: a histogram sent between processes. */
  toBuckets(): [number, number][] {
    const buckets: [number, number][] = []
    for (let i = 0; i < BUCKET_COUNT; i++)
      if (this.#counts[i] !== 0) buckets.push([i, this.#counts[i] as number])
    return buckets
  }

  /** Adds buckets from {@link toBuckets} of another histogram (indexes out of range are ignored). */
  mergeBuckets(buckets: readonly (readonly [number, number])[]): void {
    for (const [index, count] of buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= BUCKET_COUNT || !(count > 0)) continue
      this.#counts[index] = (this.#counts[index] as number) + count
      this.#total += count
    }
  }

  /** The `p`-th percentile (0–100) in nanoseconds, at the bucket's geometric middle; NaN if empty. */
  percentile(p: number): number {
    if (this.#total === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil((p / 100) * this.#total))
    let seen = 0
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.#counts[i] as number
      if (seen >= rank) return 2 ** ((i + 0.5) / BUCKETS_PER_DOUBLING)
    }
    return Number.NaN
  }
}
