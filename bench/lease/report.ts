import type { Table } from '../report'
import { hasFourRules, isLeased, type LeaseOptions, VARIANT_LABELS, type Variant } from './options'
import type { VariantResult } from './run'

/** The targets for the hot key, leased (issue 16, item 5). */
export const TARGETS = { leasedOverExact: 10, commandsPerDecision: 0.02, admittedLow: 0.9, admittedHigh: 1 }

export function leaseTable(results: readonly VariantResult[]): Table {
  const header = [
    'variant',
    'decisions/s',
    'min–max',
    'p50 µs',
    'p99 µs',
    'Redis cmds/decision',
    'scripts/decision',
    'admitted/window min',
    'max',
    'windows',
  ]
  const rows = results.map((r) => {
    const label = `${VARIANT_LABELS[r.variant]}${r.degradedShare > 0 ? ' (!)' : ''}`
    if (r.unavailable !== undefined)
      return [label, 'not available in this build', '', '', '', '', '', '', '', '']
    return [
      label,
      count(r.decisionsPerSec.median),
      `${count(r.decisionsPerSec.min)}–${count(r.decisionsPerSec.max)}`,
      micros(r.p50Us),
      micros(r.p99Us),
      perDecision(r.commandsPerDecision),
      perDecision(r.scriptsPerDecision),
      share(r.admittedMin),
      share(r.admittedMax),
      String(r.wholeWindows),
    ]
  })
  return { header, rows, leftColumns: 1 }
}

/** The ratios of one run, each between variants measured in the same run, taking turns. */
export interface Ratios {
  leasedOverExact?: number
  fourMixedOverOneExact?: number
  fourExactOverOneExact?: number
}

export function ratios(results: readonly VariantResult[]): Ratios {
  const rate = (variant: Variant) => {
    const r = results.find((x) => x.variant === variant && x.unavailable === undefined)
    return r ? r.decisionsPerSec.median : Number.NaN
  }
  const out: Ratios = {}
  const put = (key: keyof Ratios, value: number) => {
    if (Number.isFinite(value)) out[key] = value
  }
  put('leasedOverExact', rate('leased') / rate('exact'))
  put('fourMixedOverOneExact', rate('4-rules-leased') / rate('exact'))
  put('fourExactOverOneExact', rate('4-rules-exact') / rate('exact'))
  return out
}

/** The ratios and the targets, met or not, said plainly; warnings when figures are suspect. */
export function leaseNote(results: readonly VariantResult[], options: LeaseOptions): string {
  const lines: string[] = []
  const r = ratios(results)
  if (r.leasedOverExact !== undefined)
    lines.push(
      `leased / exact, hot key: ${r.leasedOverExact.toFixed(1)}x decisions/s (target ≥ ${TARGETS.leasedOverExact}x: ${r.leasedOverExact >= TARGETS.leasedOverExact ? 'met' : 'NOT met'})`,
    )
  if (r.fourMixedOverOneExact !== undefined)
    lines.push(`4 rules (global leased) / 1 rule exact: ${r.fourMixedOverOneExact.toFixed(2)}x decisions/s`)
  if (r.fourExactOverOneExact !== undefined)
    lines.push(`4 rules exact / 1 rule exact: ${r.fourExactOverOneExact.toFixed(2)}x decisions/s`)
  const leased = results.find((x) => x.variant === 'leased' && x.unavailable === undefined)
  if (leased) {
    const cmds = leased.commandsPerDecision
    const inBounds = leased.admittedMin >= TARGETS.admittedLow && leased.admittedMax <= TARGETS.admittedHigh
    lines.push(
      `leased hot key: ${cmds.toFixed(4)} Redis commands per decision (target ≤ ${TARGETS.commandsPerDecision}: ${cmds <= TARGETS.commandsPerDecision ? 'met' : 'NOT met'}); ` +
        `admitted per window ${share(leased.admittedMin)}–${share(leased.admittedMax)} of the limit (target ${TARGETS.admittedLow}–${TARGETS.admittedHigh}: ${inBounds ? 'met' : 'NOT met'})`,
    )
  }
  for (const x of results) {
    if (x.unavailable === undefined) continue
    lines.push(`${VARIANT_LABELS[x.variant]}: not measured, the rules were rejected (${x.unavailable})`)
  }
  for (const x of results) {
    if (x.unavailable === undefined && x.wholeWindows === 0)
      lines.push(
        `${VARIANT_LABELS[x.variant]}: no whole window in a sample (--duration ${options.durationS} s, --window ${options.windowMs} ms); admitted per window not measured`,
      )
    if (x.degradedShare > 0)
      lines.push(
        `(!) ${VARIANT_LABELS[x.variant]}: ${(x.degradedShare * 100).toFixed(2)}% of decisions came from the local fallback (Redis failed or was late); those do not measure the store`,
      )
    if (x.unbucketed > 0)
      lines.push(
        `(!) ${VARIANT_LABELS[x.variant]}: ${x.unbucketed} admissions had no finite resetMs and are in no window`,
      )
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

/** How the figures were taken, for the top of the output and the Markdown file. */
export function describeLeaseRun(options: LeaseOptions, redis: string): string {
  return (
    `diana bench (lease): ${options.processes} processes × ${options.concurrency} checks in flight on ${redis}; ` +
    `global rule: fixed window, ${options.limit.toLocaleString('en')} per ${options.windowMs} ms; ` +
    `${options.durationS} s per variant in ${options.samples} samples, taking turns, after a warm-up sample; ` +
    `denial cache ${options.denialCache ? 'on' : 'off (every exact check goes to Redis)'}; ` +
    `commandTimeoutMs ${options.commandTimeoutMs ?? 'default (50)'}; ` +
    'decisions/s: medians with min–max; Redis cmds/decision: every command the Redis ran (INFO commandstats: ' +
    'those inside scripts and heartbeats included) over the decisions; scripts/decision: script calls ' +
    '(EVAL, EVALSHA, FCALL), the round trips that decide; admitted/window: allowed decisions of the whole fleet in the ' +
    'emptiest and fullest whole window, as a share of the limit'
  )
}

export function variantJson(r: VariantResult, options: LeaseOptions): Record<string, unknown> {
  const base = {
    scenario: 'lease',
    variant: r.variant,
    leased: isLeased(r.variant),
    rules: hasFourRules(r.variant) ? 4 : 1,
    processes: options.processes,
    concurrency: options.concurrency,
    limit: options.limit,
    windowMs: options.windowMs,
    samples: options.samples,
    denialCache: options.denialCache,
    commandTimeoutMs: options.commandTimeoutMs ?? null,
  }
  if (r.unavailable !== undefined) return { ...base, unavailable: r.unavailable }
  return {
    ...base,
    decisionsPerSec: Math.round(r.decisionsPerSec.median),
    decisionsPerSecMin: Math.round(r.decisionsPerSec.min),
    decisionsPerSecMax: Math.round(r.decisionsPerSec.max),
    p50Us: round(r.p50Us),
    p99Us: round(r.p99Us),
    commandsPerDecision: round6(r.commandsPerDecision),
    scriptsPerDecision: round6(r.scriptsPerDecision),
    admittedMin: round4(r.admittedMin),
    admittedMax: round4(r.admittedMax),
    wholeWindows: r.wholeWindows,
    degradedShare: round4(r.degradedShare),
    unbucketed: r.unbucketed,
  }
}

export function ratiosJson(results: readonly VariantResult[]): Record<string, unknown> {
  const r = ratios(results)
  return {
    scenario: 'lease-ratios',
    leasedOverExact: round(r.leasedOverExact ?? Number.NaN),
    fourMixedOverOneExact: round(r.fourMixedOverOneExact ?? Number.NaN),
    fourExactOverOneExact: round(r.fourExactOverOneExact ?? Number.NaN),
  }
}

function perDecision(n: number): string {
  return Number.isFinite(n) ? n.toFixed(4) : '-'
}

function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-'
}

function micros(us: number): string {
  if (!Number.isFinite(us)) return '-'
  return us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0)
}

function share(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '-'
}

function round(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : null
}

function round6(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 1e6) / 1e6 : null
}

function round4(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 10_000) / 10_000 : null
}
