/**
 * Leased quotas on a real Redis Cluster, the documented pattern: a hot global rule leased, a
 * per-account rule exact, in one check (different slots). Worker processes offer more than
 * either allows. All-or-nothing: when the exact rule denies, the leased units go back into the
 * slice, so once the workers have closed (handing their slices back) the global rule's count
 * in Redis is exactly the checks admitted; and neither rule is ever over its limit.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLimiter } from '../../../../src/limiter'
import type { Rule } from '../../../../src/rules/rule'
import { RedisStore } from '../../../../src/stores/redis/redis-store'
import { forkWorker, killFleet } from '../../../support/fleet'
import { describeRedis, type RedisCluster, startCluster } from '../../../support/redis-server'
import type { LeaseWorkerConfig, LeaseWorkerReport } from '../fixtures/lease-worker'
import { readAdmissions } from './admissions'

const WORKER = fileURLToPath(new URL('../fixtures/lease-worker.ts', import.meta.url))
const HOUR = 3_600_000
const ACCOUNTS = Array.from({ length: 20 }, (_, i) => ({ account: `a${i}` }))
let cluster: RedisCluster
let dir: string

/** What Redis counted for `rule` and `subject` this hour, read by an exact peek. */
async function countOf(rule: Rule, subject: { account?: string }, keyPrefix: string): Promise<number> {
  const { lease: _, ...exact } = rule
  const store = new RedisStore(
    { type: 'redis', cluster: { nodes: cluster.seeds }, keyPrefix, logger: false },
    Date.now,
  )
  const reader = createLimiter({ rules: [exact], store })
  try {
    await store.ready()
    const peek = await reader.peek(subject)
    expect(peek.degraded).toBe(false)
    // An allowed peek's `remaining` is what one more check would leave.
    return rule.limit - peek.remaining - (peek.allowed ? 1 : 0)
  } finally {
    await reader.close()
  }
}

/**
 * Three workers, each running one limiter per rule list (offered 400 checks at 600 a second,
 * over 20 accounts). Resolves with what each list admitted per account, all workers together.
 */
async function runFleetOn(ruleLists: Rule[][], keyPrefix: string): Promise<number[][]> {
  // An hour's window must not end during the run.
  const intoHour = Date.now() % HOUR
  if (intoHour > HOUR - 10_000) await new Promise((resolve) => setTimeout(resolve, HOUR - intoHour + 100))
  const outs = [0, 1, 2].map((i) => ruleLists.map((_, j) => join(dir, `${keyPrefix}-${i}-${j}.txt`)))
  const handles = outs.map((files) => {
    const config: LeaseWorkerConfig = {
      cluster: cluster.seeds,
      keyPrefix,
      skewMs: 0,
      limiters: ruleLists.map((rules, j) => ({
        rules,
        rate: 600,
        subjects: ACCOUNTS,
        out: files[j] as string,
      })),
    }
    return forkWorker<LeaseWorkerReport>(WORKER, [JSON.stringify(config)])
  })
  await Promise.all(handles.map((handle) => handle.ready))
  // 400 checks per list from each: 60 per account, twice what the account rule allows.
  const go = { stopAt: Date.now() + 20_000, checks: 400 }
  for (const handle of handles) handle.go(go)
  const reports = await Promise.all(handles.map((handle) => handle.report))
  for (const report of reports) expect(report?.degraded).toBe(0)
  return ruleLists.map((_, j) => {
    const perAccount = ACCOUNTS.map(() => 0)
    for (const files of outs) {
      for (const { subject } of readAdmissions(files[j] as string))
        perAccount[subject] = (perAccount[subject] ?? 0) + 1
    }
    return perAccount
  })
}

const account = (name: string): Rule => ({
  name,
  dimension: 'account',
  algorithm: 'fixed-window',
  limit: 30,
  window: HOUR,
})
const global = (name: string, limit: number, maxSlice: number): Rule => ({
  name,
  dimension: 'global',
  algorithm: 'fixed-window',
  limit,
  window: HOUR,
  lease: { maxSlice },
})
/**
 * The account rule binds (20 × 30 < 1,000); the global rule binds (300 < 20 × 30). Slices are
 * large where the pool is, so that checks rarely wait for asks long enough to be decided
 * exactly: on a Cluster, an exact check an account rule denies may leave its reservation of
 * the global rule in place when it raced with another write (docs/redis.md), which would count
 * more than was admitted.
 */
const ACCOUNT_BINDS = [global('global1', 1000, 100), account('account1')]
const GLOBAL_BINDS = [global('global2', 300, 20), account('account2')]

describeRedis('leased quotas on a Redis Cluster', () => {
  const keyPrefix = `lc${Date.now()}`
  let admitted: number[][]
  beforeAll(async () => {
    cluster = await startCluster(3)
    dir = mkdtempSync(join(tmpdir(), 'diana-lease-cluster-'))
    admitted = await runFleetOn([ACCOUNT_BINDS, GLOBAL_BINDS], keyPrefix)
  })
  afterAll(async () => {
    killFleet()
    await cluster?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the exact account rule binds: every account gets its limit, and the global count is exactly what was admitted', async () => {
    expect(admitted[0]).toEqual(ACCOUNTS.map(() => 30))
    expect(await countOf(ACCOUNT_BINDS[0] as Rule, {}, keyPrefix)).toBe(600)
    expect(await countOf(ACCOUNT_BINDS[1] as Rule, { account: 'a7' }, keyPrefix)).toBe(30)
  })

  it('the leased global rule binds: never over it, at most 2 × maxSlice unused, its count exactly what was admitted', async () => {
    const perAccount = admitted[1] as number[]
    const total = perAccount.reduce((sum, n) => sum + n, 0)
    expect(total).toBeLessThanOrEqual(300)
    expect(total).toBeGreaterThanOrEqual(300 - 2 * 20)
    for (const n of perAccount) expect(n).toBeLessThanOrEqual(30)
    expect(await countOf(GLOBAL_BINDS[0] as Rule, {}, keyPrefix)).toBe(total)
  })
})
