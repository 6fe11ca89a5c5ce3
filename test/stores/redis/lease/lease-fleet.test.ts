/**
 * Leased quotas across real processes on one real Redis (rule field `lease`): worker processes
 * offer more checks than a hot global key allows, and what they admit is counted per aligned
 * window. The guarantee: never more than the limit in a window (never more than burst + rate ×
 * interval for a bucket), and, while demand exceeds it, at most (instances − 1) × maxSlice
 * left unused. Also with an instance SIGKILLed mid-window (its slice ends with the window), one
 * joining late (it gets its share), and clocks skewed by ±5 s (Redis time decides windows).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Rule } from '../../../../src/rules/rule'
import { forkWorker, killFleet, type WorkerHandle } from '../../../support/fleet'
import { describeRedis, type RedisProcess, startRedis } from '../../../support/redis-server'
import type { LeaseWorkerConfig, LeaseWorkerReport } from '../fixtures/lease-worker'
import { type Admission, bucketExcess, perWindow, readAdmissions } from './admissions'

const WORKER = fileURLToPath(new URL('../fixtures/lease-worker.ts', import.meta.url))
const W = 1000
let redis: RedisProcess
let dir: string

interface Plan {
  /** One limiter per rule in each worker, each offered `rate` checks a second. */
  rules: Rule[]
  rate: number
  /** Per worker: its clock's skew, and when it starts and dies (ms after the first full window begins). */
  workers: { skewMs?: number; joinAt?: number; killAt?: number }[]
  /** Full windows measured. */
  windows: number
}

interface Run {
  /** Index of the first full window. */
  first: number
  /** Per worker, per rule: what it admitted. */
  admissions: Admission[][][]
  reports: (LeaseWorkerReport | undefined)[]
}

/**
 * Starts the workers, lets them warm up until a window boundary, then runs `plan.windows`
 * full windows; workers join and die at their times. Resolves with what each admitted.
 */
async function runPlan(plan: Plan, name: string): Promise<Run> {
  const handles: WorkerHandle<LeaseWorkerReport>[] = []
  const outs = plan.workers.map((_, i) => plan.rules.map((_, j) => join(dir, `${name}-${i}-${j}.txt`)))
  for (let i = 0; i < plan.workers.length; i++) {
    const config: LeaseWorkerConfig = {
      url: redis.url,
      keyPrefix: `lease${name}`,
      skewMs: plan.workers[i]?.skewMs ?? 0,
      limiters: plan.rules.map((rule, j) => ({
        rules: [rule],
        rate: plan.rate,
        subjects: [{}],
        out: outs[i]?.[j] as string,
      })),
    }
    handles.push(forkWorker(WORKER, [JSON.stringify(config)]))
  }
  // Ready first, so that start-up time (tsx) does not eat into the measured windows; what is
  // left of the current window (at least 300 ms) is the warm-up.
  await Promise.all(handles.map((handle) => handle.ready))
  const start = Math.ceil((Date.now() + 300) / W) * W
  const go = { stopAt: start + plan.windows * W + 20 }
  const timers: NodeJS.Timeout[] = []
  plan.workers.forEach((worker, i) => {
    const handle = handles[i] as WorkerHandle<LeaseWorkerReport>
    if (worker.joinAt === undefined) handle.go(go)
    else timers.push(setTimeout(() => handle.go(go), start + worker.joinAt - Date.now()))
    if (worker.killAt !== undefined) {
      timers.push(setTimeout(() => handle.kill(), start + worker.killAt - Date.now()))
    }
  })
  const reports = await Promise.all(handles.map((handle) => handle.report))
  for (const timer of timers) clearTimeout(timer)
  return { first: start / W, admissions: outs.map((files) => files.map(readAdmissions)), reports }
}

/** Per measured window: admissions for certain in it, and those that may be in it. */
function windowsOf(run: Run, windows: number, admissions: Admission[]) {
  const counted = perWindow(admissions, W)
  return Array.from({ length: windows }, (_, i) => counted.get(run.first + i) ?? { sure: 0, maybe: 0 })
}

/** All workers' admissions under rule `j`. */
function ofRule(run: Run, j: number): Admission[] {
  return run.admissions.flatMap((perRule) => perRule[j] as Admission[])
}

describeRedis('leased quotas: a fleet of processes on one Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
    dir = mkdtempSync(join(tmpdir(), 'diana-lease-'))
  })
  afterAll(async () => {
    killFleet()
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('fixed window: never over the limit in a window, with one instance SIGKILLed mid-window and one joining late', async () => {
    const limit = 600
    const maxSlice = 20
    // Each offers 800 checks/s: three together 4 × the limit, so even on a loaded host, where
    // they fall behind, they want more than it.
    const run = await runPlan(
      {
        rules: [
          {
            name: 'hot',
            dimension: 'global',
            algorithm: 'fixed-window',
            limit,
            window: W,
            lease: { maxSlice },
          },
        ],
        rate: 800,
        // The third dies early in window 2, while it still takes from the pool.
        workers: [{}, {}, { killAt: 2.1 * W }, { joinAt: 3.2 * W }],
        windows: 5,
      },
      'fw',
    )
    const windows = windowsOf(run, 5, ofRule(run, 0))
    const [, , dead, late] = run.admissions.map((perRule) => windowsOf(run, 5, perRule[0] as Admission[]))
    for (const { sure } of windows) expect(sure).toBeLessThanOrEqual(limit)
    // Three instances want the key in windows 0, 1, 3 (two and the late one) and 4: at most
    // two of them hold a slice the pool cannot use. The dead one's slice is lost in window 2
    // only: it ended with the window.
    for (const at of [0, 1, 3, 4]) {
      const { sure, maybe } = windows[at] as { sure: number; maybe: number }
      expect(sure + maybe, `window ${at}`).toBeGreaterThanOrEqual(limit - 2 * maxSlice)
    }
    expect(windows[2]?.sure).toBeGreaterThanOrEqual(limit - 3 * maxSlice)
    expect(run.reports[2]).toBeUndefined()
    expect(dead?.[2]?.sure).toBeGreaterThan(0)
    expect(dead?.[3]).toEqual({ sure: 0, maybe: 0 })
    // The late one gets its part of the window after it joined (a third would be even).
    expect(late?.[4]?.sure).toBeGreaterThanOrEqual(limit / 6)
    expect(run.reports.flatMap((r) => (r === undefined ? [] : [r.degraded]))).toEqual([0, 0, 0])
  })

  describe('three instances with clocks skewed by +5 s, −5 s and 0, one limiter per algorithm each', () => {
    const limit = 600
    const burst = 100
    const maxSlice = 20
    let run: Run
    beforeAll(async () => {
      run = await runPlan(
        {
          rules: [
            {
              name: 'fw',
              dimension: 'global',
              algorithm: 'fixed-window',
              limit,
              window: W,
              lease: { maxSlice },
            },
            {
              name: 'sw',
              dimension: 'global',
              algorithm: 'sliding-window',
              limit,
              window: W,
              lease: { maxSlice },
            },
            {
              name: 'tb',
              dimension: 'global',
              algorithm: 'token-bucket',
              limit,
              window: W,
              burst,
              lease: { maxSlice, ttl: 500 },
            },
          ],
          rate: 800,
          workers: [{ skewMs: 5000 }, { skewMs: -5000 }, {}],
          windows: 3,
        },
        'skew',
      )
    })

    it('fixed window: Redis time decides windows, never over the limit, at most 2 × maxSlice unused', () => {
      for (const { sure, maybe } of windowsOf(run, 3, ofRule(run, 0))) {
        expect(sure).toBeLessThanOrEqual(limit)
        expect(sure + maybe).toBeGreaterThanOrEqual(limit - 2 * maxSlice)
      }
      // Each gets its part in every window (a third would be even): no one's slices end early.
      for (const perRule of run.admissions) {
        for (const { sure } of windowsOf(run, 3, perRule[0] as Admission[]))
          expect(sure).toBeGreaterThan(limit / 6)
      }
    })

    it('sliding window: never over the limit in an aligned window', () => {
      for (const { sure } of windowsOf(run, 3, ofRule(run, 1))) {
        expect(sure).toBeLessThanOrEqual(limit)
        // The previous window's weight holds the next back, but the key is busy throughout.
        expect(sure).toBeGreaterThan(limit / 2)
      }
    })

    it("token bucket: in any interval at most burst + rate × its length, and the rate's worth admitted", () => {
      const all = ofRule(run, 2)
      const rate = limit / W
      // Decisions are timed by their reply (t1), which may lag the decision by its own wait.
      const lag = Math.max(...all.map((a) => a.t1 - a.t0))
      expect(bucketExcess(all, rate)).toBeLessThanOrEqual(burst + rate * lag + 1)
      for (const { sure, maybe } of windowsOf(run, 3, all)) {
        expect(sure).toBeLessThanOrEqual(burst + limit)
        expect(sure + maybe).toBeGreaterThanOrEqual(limit - 2 * maxSlice)
      }
    })
  })
})
