import { setImmediate as yieldToIo } from 'node:timers/promises'
import type { Decision } from '../../src/decision'
import { createLimiter, type LimiterOptions } from '../../src/limiter'
import { isPromiseLike, type MaybePromise } from '../../src/maybe-async'
import type { Subject } from '../../src/types'
import { Histogram } from '../histogram'
import { isLeased } from './options'
import type { FromWorker, ToWorker, WorkerResult } from './protocol'
import { workloadRules, workloadSubjects } from './workload'

type Limiter = ReturnType<typeof createLimiter>

// One check in eight is timed, as in the decision benchmark.
const LATENCY_EVERY = 8
/**
 * A loop that checked this many times while the event loop did not turn waits for it to: a
 * check decided locally (a leased slice, the fallback while Redis fails) answers at once or
 * with a promise already settled, which never yields to timers and I/O by itself, and the
 * slices are refilled by replies from Redis that only I/O delivers (a server's requests
 * arrive by I/O too). Checks that wait for Redis let the loop turn and never need it.
 */
const STARVED_CHECKS = 16

/**
 * A worker process of `diana bench lease`: one instance of an application, with its own
 * limiter on the shared Redis, driving `concurrency` loops of one check at a time. Started by
 * the benchmark with the hidden subcommand; it ends when the benchmark goes away.
 */
export async function serve(): Promise<number> {
  const send = process.send?.bind(process)
  if (!send) {
    process.stderr.write('diana bench: the lease worker process must be started by "diana bench lease"\n')
    return 2
  }
  const subjects = workloadSubjects()
  let limiter: Limiter | undefined
  let prepared: Extract<ToWorker, { type: 'prepare' }> | undefined
  const reply = (message: FromWorker) => send(message)
  process.on('message', (message: ToWorker) => {
    void handle(message).then(reply, (error: unknown) =>
      reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
    )
  })
  process.on('disconnect', () => process.exit(0))

  async function handle(message: ToWorker): Promise<FromWorker> {
    if (message.type === 'prepare') {
      await limiter?.close()
      limiter = undefined
      prepared = message
      try {
        limiter = createLimiter({
          rules: workloadRules(message.spec),
          // Typed loosely so this compiles whatever shape `StoreOptions` has in this build.
          store: {
            type: 'redis',
            url: message.redisUrl,
            ...(message.denialCache ? {} : { denialCache: false }),
            ...(message.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: message.commandTimeoutMs }),
          } as unknown as LimiterOptions['store'],
        })
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error)
        if (isLeased(message.spec.variant) && /lease/.test(text))
          return { type: 'unavailable', message: text }
        throw error
      }
      // Reach Redis before the barrier, so connecting is not timed. The probe subject is outside
      // the measured windows (they start after the barrier).
      const probe = await limiter.check({ account: 'diana-bench-probe' })
      if (probe.degraded)
        throw new Error(`could not reach Redis at ${message.redisUrl} (the first check was degraded)`)
      return { type: 'ready' }
    }
    if (message.type === 'go') {
      if (!limiter || !prepared) throw new Error('"go" before "prepare"')
      const { spec, concurrency, offset } = prepared
      const result = await drive(limiter, subjects, offset, concurrency, spec.windowMs, message)
      return { type: 'done', result }
    }
    await limiter?.close()
    limiter = undefined
    prepared = undefined
    return { type: 'closed' }
  }

  return new Promise<number>(() => {})
}

/**
 * `concurrency` loops, each with one check at a time over the subjects round robin, from the
 * shared start time `startAt` (epoch ms, the same for every worker: the barrier) for
 * `durationMs`. Each allowed decision is counted in the global rule's window whose end is
 * nearest to now + resetMs, which a reply's latency cannot move by half a window.
 */
async function drive(
  limiter: Limiter,
  subjects: readonly Subject[],
  offset: number,
  concurrency: number,
  windowMs: number,
  go: { startAt: number; durationMs: number },
): Promise<WorkerResult> {
  const wait = go.startAt - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const histogram = new Histogram()
  const windows = new Map<number, number>()
  const count = subjects.length
  let next = offset % count
  let decisions = 0
  let allowed = 0
  let degraded = 0
  let unbucketed = 0
  let stop = false
  const start = performance.now()
  const timer = setTimeout(() => {
    stop = true
  }, go.durationMs)
  // Counts turns of the event loop (its timers phase), so loops can tell they are starving it.
  let turns = 0
  const turnCounter = setInterval(() => {
    turns++
  }, 1)
  const half = windowMs / 2
  const record = (decision: Decision) => {
    decisions++
    if (decision.degraded) degraded++
    if (!decision.allowed) return
    allowed++
    const k = Math.floor((Date.now() + decision.resetMs - half) / windowMs)
    if (Number.isFinite(k)) windows.set(k, (windows.get(k) ?? 0) + 1)
    else unbucketed++
  }
  const loop = async (): Promise<void> => {
    let seen = turns
    let streak = 0
    while (!stop) {
      const subject = subjects[next] as Subject
      next = next + 1 === count ? 0 : next + 1
      const timed = decisions % LATENCY_EVERY === 0
      const t0 = timed ? performance.now() : 0
      // The limiter answers with a promise, or (a decision taken locally) possibly at once.
      const answer = limiter.check(subject) as MaybePromise<Decision>
      const decision = isPromiseLike(answer) ? await answer : answer
      if (timed) histogram.record((performance.now() - t0) * 1e6)
      record(decision)
      if (turns !== seen) {
        seen = turns
        streak = 0
      } else if (++streak >= STARVED_CHECKS) {
        streak = 0
        await yieldToIo()
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, loop))
  } finally {
    clearTimeout(timer)
    clearInterval(turnCounter)
  }
  return {
    decisions,
    elapsedMs: performance.now() - start,
    allowed,
    degraded,
    windows: [...windows],
    unbucketed,
    latency: histogram.toBuckets(),
  }
}
