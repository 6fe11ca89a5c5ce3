import type { Table } from '../report'
import { VARIANT_LABELS } from './options'
import type { Baseline, StepResult } from './run'

export function overloadTable(results: readonly StepResult[], baseline: Baseline): Table {
  const header = [
    'variant',
    'offered',
    'clients',
    'served/s',
    'goodput/s',
    'goodput %cap',
    'p99 ms',
    'p99 ×unloaded',
    'shed/s',
    'shed %',
  ]
  const rows = results.map((r) => [
    VARIANT_LABELS[r.variant],
    `${r.offered}×`,
    String(r.clients),
    whole(r.throughput),
    whole(r.goodput),
    `${(r.goodputShare * 100).toFixed(0)}%`,
    Number.isFinite(r.p99Ms) ? r.p99Ms.toFixed(1) : '-',
    Number.isFinite(r.p99Ms) ? `${(r.p99Ms / baseline.unloadedP99Ms).toFixed(1)}×` : '-',
    whole(r.shedPerSec),
    `${(r.shedShare * 100).toFixed(0)}%`,
  ])
  return { header, rows, leftColumns: 1 }
}

/** The targets at the highest step, as measured: met or not, said plainly. */
export function targetsNote(results: readonly StepResult[], baseline: Baseline): string {
  const top = Math.max(...results.map((r) => r.offered))
  const at = (variant: StepResult['variant']) =>
    results.find((r) => r.variant === variant && r.offered === top)
  const lines: string[] = []
  const adaptive = at('adaptive')
  if (adaptive) {
    const share = adaptive.goodputShare * 100
    const p99 = adaptive.p99Ms / baseline.unloadedP99Ms
    lines.push(
      `at ${top}×, adaptive: goodput ${share.toFixed(0)}% of capacity (target ≥ 85%: ${share >= 85 ? 'met' : 'NOT met'}), ` +
        `p99 of admitted ${Number.isFinite(p99) ? p99.toFixed(1) : '-'}× the unloaded p99 (target ≤ 4×: ${p99 <= 4 ? 'met' : 'NOT met'})`,
    )
  }
  const bare = at('bare')
  if (bare) lines.push(`at ${top}×, bare: goodput ${(bare.goodputShare * 100).toFixed(0)}% of capacity`)
  const errors = results.reduce((sum, r) => sum + r.errors, 0)
  if (errors > 0) lines.push(`(!) ${errors} requests failed outright (connection errors or other statuses)`)
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

export function baselineLine(baseline: Baseline): string {
  return (
    `unloaded (one request at a time): p50 ${baseline.unloadedP50Ms.toFixed(1)} ms, p99 ${baseline.unloadedP99Ms.toFixed(1)} ms; ` +
    `goodput counts responses within ${baseline.sloMs.toFixed(1)} ms (3× the unloaded p50), as a share of capacity ${whole(baseline.capacity)}/s\n`
  )
}

export function stepJson(r: StepResult, baseline: Baseline): Record<string, unknown> {
  const round = (n: number) => (Number.isFinite(n) ? Math.round(n * 100) / 100 : null)
  return {
    scenario: 'overload',
    variant: r.variant,
    offered: r.offered,
    clients: r.clients,
    capacity: round(baseline.capacity),
    throughput: round(r.throughput),
    goodput: round(r.goodput),
    goodputShare: round(r.goodputShare),
    p99Ms: round(r.p99Ms),
    unloadedP50Ms: round(baseline.unloadedP50Ms),
    unloadedP99Ms: round(baseline.unloadedP99Ms),
    sloMs: round(baseline.sloMs),
    shedPerSec: round(r.shedPerSec),
    shedShare: round(r.shedShare),
    errors: r.errors,
  }
}

function whole(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-'
}
