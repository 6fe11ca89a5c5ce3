/**
 * Four Node processes on one Redis share one fixed-window limit of 1,000: together they get
 * exactly 1,000 allowed, also when two of them have clocks skewed by ±5 s.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'

const WORKER = fileURLToPath(new URL('./fixtures/shared-limit-worker.ts', import.meta.url))
let redis: RedisProcess
const children: ChildProcess[] = []

/** Runs one process per skew, each trying `checks`; resolves with each one's report. */
async function runFleet(skews: number[], checks: number, rule: string) {
  const workers = skews.map((skew) => {
    const child = fork(WORKER, [redis.url, String(skew), String(checks), rule], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.push(child)
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)))
    })
    return { child, ready }
  })
  await Promise.all(workers.map((worker) => worker.ready))
  const reports = workers.map(
    ({ child }) =>
      new Promise<{ allowed: number; degraded: number }>((resolve) =>
        child.once('message', resolve as never),
      ),
  )
  for (const { child } of workers) child.send('go')
  return Promise.all(reports)
}

describeRedis('several processes share one limit through Redis', () => {
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await redis?.stop()
  })

  it('4 processes, 1,600 checks, limit 1,000: exactly 1,000 allowed', async () => {
    const reports = await runFleet([0, 0, 0, 0], 400, `fleet-${Date.now()}`)
    expect(reports.reduce((sum, r) => sum + r.degraded, 0)).toBe(0)
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(1000)
  })

  it('the same with two clocks skewed by +5 s and -5 s: Redis time decides', async () => {
    const reports = await runFleet([5000, -5000, 0, 0], 400, `skewed-${Date.now()}`)
    expect(reports.reduce((sum, r) => sum + r.degraded, 0)).toBe(0)
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(1000)
  })
})
