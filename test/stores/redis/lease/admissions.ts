/**
 * What the lease fleet workers admitted (see fixtures/lease-worker.ts), read back and counted
 * per aligned window of Redis time (on one host Redis's clock is the workers' real clock).
 */
import { readFileSync } from 'node:fs'

/** One admitted check: real time before it and after its decision, and the subject's index. */
export interface Admission {
  t0: number
  t1: number
  subject: number
}

export function readAdmissions(file: string): Admission[] {
  const text = readFileSync(file, 'utf8')
  const admissions: Admission[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const [t0, t1, subject] = line.split(' ').map(Number) as [number, number, number]
    admissions.push({ t0, t1, subject })
  }
  return admissions
}

/**
 * Per window index: `sure`, admissions decided inside the window for certain (both times in
 * it), and `maybe`, those that straddle its start or end (decided in it or its neighbour).
 */
export function perWindow(
  admissions: readonly Admission[],
  windowMs: number,
): Map<number, { sure: number; maybe: number }> {
  const windows = new Map<number, { sure: number; maybe: number }>()
  const at = (k: number) => {
    let entry = windows.get(k)
    if (entry === undefined) {
      entry = { sure: 0, maybe: 0 }
      windows.set(k, entry)
    }
    return entry
  }
  for (const { t0, t1 } of admissions) {
    const k0 = Math.floor(t0 / windowMs)
    const k1 = Math.floor(t1 / windowMs)
    if (k0 === k1) at(k0).sure++
    else for (let k = k0; k <= k1; k++) at(k).maybe++
  }
  return windows
}

/**
 * The most admissions in any interval beyond what a bucket refilling `ratePerMs` admits over
 * its length: max over i ≤ j of (j − i + 1) − rate × (t_j − t_i), admissions ordered by the
 * time they were decided by (t1). A bucket of capacity B keeps this ≤ B.
 */
export function bucketExcess(admissions: readonly Admission[], ratePerMs: number): number {
  const times = admissions.map((a) => a.t1).sort((a, b) => a - b)
  let best = 0
  // max over i ≤ j of (j − rate·t_j) − (i − rate·t_i) + 1: a running minimum of the second.
  let lowest = Number.POSITIVE_INFINITY
  for (let j = 0; j < times.length; j++) {
    const value = j - ratePerMs * (times[j] as number)
    lowest = Math.min(lowest, value)
    best = Math.max(best, value - lowest + 1)
  }
  return best
}
