/**
 * Diana's memory store against rate-limiter-flexible's RateLimiterMemory, in one process,
 * interleaved A B A B: one hot key, 100,000 keys round robin, 100,000 new keys, and heap bytes
 * per key. Both are set up as the same fixed window (a high limit, so nearly every request is
 * allowed and the figure is the cost of a decision, not of a rejection). On the hot key a third
 * contestant sets the floor: an async function doing bare token-bucket arithmetic on a Map, no
 * limiter at all, so what Diana costs above the promise and the arithmetic shows in the same run.
 *
 *   npx tsx bench/memory-store.ts [--samples N] [--algorithm NAME]
 */
import { parseArgs } from 'node:util'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { collectGarbage } from '../../bench/gc'
import { BENCH_LIMIT } from '../../bench/quota'
import { interleave, type Spread, spread } from '../../bench/sampling'
import { createLimiter } from '../../src/limiter'

const KEYS = 100_000
const WINDOW_S = 60

type Contestant = 'diana' | 'flexible' | 'floor'
const CONTESTANTS: readonly Contestant[] = ['diana', 'flexible']
const WITH_FLOOR: readonly Contestant[] = ['diana', 'flexible', 'floor']

interface Target {
  check(key: string): Promise<unknown>
  dispose(keys: readonly string[]): Promise<void>
}

function makeDiana(algorithm: string): Target {
  const limiter = createLimiter({
    rules: [{ name: 'bench', dimension: 'account', algorithm, limit: BENCH_LIMIT, window: WINDOW_S * 1000 }],
    store: { type: 'memory', maxKeys: KEYS },
  })
  return {
    check: (key) => limiter.check({ account: key }),
    dispose: () => limiter.close(),
  }
}

function makeFlexible(): Target {
  const limiter = new RateLimiterMemory({ points: BENCH_LIMIT, duration: WINDOW_S })
  return {
    check: (key) => limiter.consume(key),
    // Its keys hold a timer each for the whole duration; clear them so one sample's leftovers
    // do not weigh on the next sample's garbage collections.
    dispose: async (keys) => {
      for (const key of keys) await limiter.delete(key)
    },
  }
}

/**
 * The least any promise-returning limiter can cost: an async function, a clock read, a Map
 * lookup and the token-bucket refill, returning whether the request passes.
 */
function makeFloor(): Target {
  const buckets = new Map<string, { tokens: number; last: number }>()
  const perMs = BENCH_LIMIT / (WINDOW_S * 1000)
  return {
    check: async (key) => {
      const now = Date.now()
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        bucket = { tokens: BENCH_LIMIT, last: now }
        buckets.set(key, bucket)
      }
      const tokens = Math.min(BENCH_LIMIT, bucket.tokens + (now - bucket.last) * perMs)
      bucket.last = now
      const allowed = tokens >= 1
      bucket.tokens = allowed ? tokens - 1 : tokens
      return allowed
    },
    dispose: async () => buckets.clear(),
  }
}

async function drive(target: Target, keys: readonly string[], ops: number): Promise<number> {
  const n = keys.length
  const start = process.hrtime.bigint()
  for (let i = 0; i < ops; i++) await target.check(keys[i % n] as string)
  const ns = Number(process.hrtime.bigint() - start)
  return ops / (ns / 1e9)
}

function keyList(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`)
}

interface Row {
  scenario: string
  diana: Spread
  flexible: Spread
  ratio: number
  target: number
  /** The bare token bucket, where measured. */
  floor?: Spread
}

async function throughput(algorithm: string, samples: number): Promise<Row[]> {
  const rows: Row[] = []
  const hot = ['user-1']
  const many = keyList('user-', KEYS)
  const make = (c: Contestant) =>
    c === 'diana' ? makeDiana(algorithm) : c === 'flexible' ? makeFlexible() : makeFloor()

  // Long-lived limiters for the steady-state scenarios; the first round (warm-up) fills them.
  for (const [scenario, keys, ops, target, contestants] of [
    ['one hot key', hot, 300_000, 1.5, WITH_FLOOR],
    ['100,000 keys round robin', many, 300_000, 2, CONTESTANTS],
  ] as const) {
    const targets = { diana: make('diana'), flexible: make('flexible'), floor: make('floor') }
    for (const c of contestants) await drive(targets[c], keys, keys.length)
    collectGarbage()
    const kept = await interleave(contestants, { warmups: 1, samples }, (c) => drive(targets[c], keys, ops))
    for (const c of contestants) await targets[c].dispose(keys)
    rows.push(row(scenario, kept, target))
    collectGarbage()
  }

  // New keys: a fresh limiter per sample, so every one of the 100,000 keys is a first sight.
  const fresh = keyList('new-', KEYS)
  const kept = await interleave(CONTESTANTS, { warmups: 1, samples }, async (c) => {
    const target = make(c)
    const opsPerSec = await drive(target, fresh, KEYS)
    await target.dispose(fresh)
    collectGarbage()
    return opsPerSec
  })
  rows.push(row('100,000 new keys', kept, 3))
  return rows
}

/** `kept` has the floor only where it ran (see `WITH_FLOOR`). */
function row(scenario: string, kept: Partial<Record<Contestant, number[]>>, target: number): Row {
  const diana = spread(kept.diana ?? [])
  const flexible = spread(kept.flexible ?? [])
  const floor = kept.floor === undefined ? undefined : spread(kept.floor)
  return { scenario, diana, flexible, ratio: diana.median / flexible.median, target, floor }
}

/** Heap growth per key after filling a fresh limiter with `KEYS` keys, collected before and after. */
async function heapPerKey(c: Contestant, algorithm: string): Promise<number> {
  const keys = keyList('heap-', KEYS)
  collectGarbage()
  const before = process.memoryUsage().heapUsed
  // The limiter is built inside the measurement: its fixed costs (the LRU's preallocated
  // slots, for one) are part of what holding these keys costs.
  const target = c === 'diana' ? makeDiana(algorithm) : makeFlexible()
  for (const key of keys) await target.check(key)
  collectGarbage()
  const after = process.memoryUsage().heapUsed
  await target.dispose(keys)
  return (after - before) / KEYS
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '7' },
      algorithm: { type: 'string', default: 'fixed-window' },
    },
  })
  const samples = Number(values.samples)
  if (!Number.isInteger(samples) || samples < 1) throw new TypeError('--samples must be a whole number >= 1')
  const algorithm = values.algorithm as string

  process.stdout.write(
    `Diana memory store (${algorithm}) vs rate-limiter-flexible RateLimiterMemory, ` +
      `Node ${process.version}, ${samples} samples each, interleaved, medians (min–max)\n\n`,
  )
  const rows = await throughput(algorithm, samples)
  const fmt = (s: Spread) =>
    `${Math.round(s.median).toLocaleString('en')} (${Math.round(s.min).toLocaleString('en')}–${Math.round(s.max).toLocaleString('en')})`
  const table = [
    ['scenario', 'diana ops/s', 'flexible ops/s', 'ratio', 'target', ''],
    ...rows.map((r) => [
      r.scenario,
      fmt(r.diana),
      fmt(r.flexible),
      `${r.ratio.toFixed(2)}x`,
      `>= ${r.target}x`,
      r.ratio >= r.target ? 'met' : 'MISSED',
    ]),
  ]
  const floors = rows.filter((r) => r.floor !== undefined)
  // Heap per key: median of three fills each, alternating.
  const heap = await interleave(CONTESTANTS, { warmups: 0, samples: 3 }, async (c) =>
    heapPerKey(c, algorithm),
  )
  const dianaHeap = spread(heap.diana).median
  const flexibleHeap = spread(heap.flexible).median
  table.push([
    'heap bytes per key',
    dianaHeap.toFixed(0),
    flexibleHeap.toFixed(0),
    `${(dianaHeap / flexibleHeap).toFixed(2)}x`,
    '<= 200 B',
    dianaHeap <= 200 ? 'met' : 'MISSED',
  ])
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)))
  for (const r of table) {
    process.stdout.write(
      `${r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}\n`,
    )
  }
  for (const r of floors) {
    const floor = r.floor as Spread
    const ratio = r.diana.median / floor.median
    process.stdout.write(
      `\n${r.scenario}: bare async token bucket (the floor) ${fmt(floor)} ops/s; ` +
        `diana/floor ${ratio.toFixed(2)}x (target >= 0.80x, ${ratio >= 0.8 ? 'met' : 'MISSED'}), ` +
        `diana/flexible ${r.ratio.toFixed(2)}x\n`,
    )
  }
}

await main()
