/**
 * What mounting diana-limiter/dashboard adds to each check: four limiters with the same rules
 * and traffic, interleaved: none listening (the floor), an empty `decision` listener (what any
 * listener costs), the dashboard mounted, and diana-limiter/metrics attached (the peer: the
 * other listener a limiter usually has). The
 * traffic mixes 1,000 accounts so that about a fifth of the checks are denied and the top-K
 * sketch works too. Reports ns per check, medians with min–max, and the ratios to the floor.
 *
 *   npx tsx scripts/bench/dashboard-cost.ts [--samples N] [--checks N]
 */
import { parseArgs } from 'node:util'
import { Registry } from 'prom-client'
import { interleave, spread } from '../../bench/sampling'
import { dashboard } from '../../src/dashboard/index'
import { createLimiter, type Limiter } from '../../src/limiter'
import { dianaMetrics } from '../../src/metrics/index'

const { values } = parseArgs({
  options: { samples: { type: 'string', default: '15' }, checks: { type: 'string', default: '200000' } },
})
const SAMPLES = Number(values.samples)
const CHECKS = Number(values.checks)
const ACCOUNTS = 1000

type Contestant = 'none' | 'listener' | 'dashboard' | 'metrics'
const CONTESTANTS: readonly Contestant[] = ['none', 'listener', 'dashboard', 'metrics']

function limiter(): Limiter {
  return createLimiter({
    rules: [
      // Each round makes CHECKS / ACCOUNTS checks per account, 200 by default: past 160, denied.
      { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 160, window: '1h' },
      { name: 'per-ip', dimension: 'ip', algorithm: 'sliding-window', limit: 1e9, window: '1h' },
    ],
  })
}

/** A fresh limiter per round (so every round denies the same share), with its listener. */
function contestant(kind: Contestant): { target: Limiter; stop(): Promise<void> } {
  const target = limiter()
  const ops = kind === 'dashboard' ? dashboard(target, { token: 'bench-token-0123456789abcdef' }) : undefined
  const metrics = kind === 'metrics' ? dianaMetrics(target, { registry: new Registry() }) : undefined
  // What any `decision` listener costs (the event, and the limiter's timing of the check).
  if (kind === 'listener') target.on('decision', () => {})
  return {
    target,
    stop: async () => {
      ops?.close()
      metrics?.stop()
      await target.close()
    },
  }
}

const subjects = Array.from({ length: ACCOUNTS }, (_, i) => ({
  account: `account-${i}`,
  ip: `10.0.${i >> 8}.${i & 255}`,
}))

const samples = await interleave(CONTESTANTS, { warmups: 2, samples: SAMPLES }, async (kind) => {
  const { target, stop } = contestant(kind)
  const started = process.hrtime.bigint()
  for (let i = 0; i < CHECKS; i++) await target.check(subjects[i % ACCOUNTS] as (typeof subjects)[number])
  const elapsed = Number(process.hrtime.bigint() - started) / CHECKS
  await stop()
  return elapsed
})

const floor = spread(samples.none).median
console.log(`${CHECKS} checks per sample, ${SAMPLES} samples, interleaved; ns per check (median, min–max)`)
for (const contestant of CONTESTANTS) {
  const { median, min, max } = spread(samples[contestant])
  const ratio = contestant === 'none' ? '' : `  ×${(median / floor).toFixed(2)} of none`
  console.log(`${contestant.padEnd(10)} ${median.toFixed(0)} (${min.toFixed(0)}–${max.toFixed(0)})${ratio}`)
}
