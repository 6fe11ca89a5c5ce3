import type { DecisionResult } from './decisions'
import type { Spread } from './sampling'

/** A table as header plus rows of cells; numbers are right-aligned. */
export interface Table {
  header: string[]
  rows: string[][]
  /** Columns aligned left (the rest align right). */
  leftColumns: number
}

export function decisionTable(results: readonly DecisionResult[]): Table {
  const compare = results.some((r) => r.peer)
  const header = [
    'algorithm',
    'store',
    'keys',
    'in flight',
    'rules',
    'diana ops/s',
    'min–max',
    'p50 µs',
    'p99 µs',
  ]
  if (compare) header.push('peer ops/s', 'min–max', 'p50 µs', 'p99 µs', 'ratio')
  const rows = results.map((r) => {
    const row = [
      r.diana.degradedShare > 0 ? `${r.algorithm} (!)` : r.algorithm,
      r.store,
      count(r.keys),
      String(r.concurrency),
      String(r.rules),
      count(r.diana.opsPerSec.median),
      range(r.diana.opsPerSec),
      micros(r.diana.p50Us),
      micros(r.diana.p99Us),
    ]
    if (compare) {
      row.push(
        r.peer ? count(r.peer.opsPerSec.median) : '-',
        r.peer ? range(r.peer.opsPerSec) : '-',
        r.peer ? micros(r.peer.p50Us) : '-',
        r.peer ? micros(r.peer.p99Us) : '-',
        r.peer ? `${ratio(r).toFixed(2)}x` : '-',
      )
    }
    return row
  })
  return { header, rows, leftColumns: 2 }
}

/** Diana's median over the peer's median, from the same interleaved run. */
export function ratio(result: DecisionResult): number {
  return result.peer ? result.diana.opsPerSec.median / result.peer.opsPerSec.median : Number.NaN
}

/** The contract's JSON object for one scenario, plus the spread and the peer's figures. */
export function decisionJson(r: DecisionResult): Record<string, unknown> {
  const json: Record<string, unknown> = {
    algorithm: r.algorithm,
    store: r.store,
    keys: r.keys,
    concurrency: r.concurrency,
    opsPerSec: Math.round(r.diana.opsPerSec.median),
    p50Us: round(r.diana.p50Us),
    p99Us: round(r.diana.p99Us),
    rules: r.rules,
    samples: r.samples,
    opsPerSecMin: Math.round(r.diana.opsPerSec.min),
    opsPerSecMax: Math.round(r.diana.opsPerSec.max),
  }
  if (r.peer) {
    json.peer = r.peer.name
    json.peerOpsPerSec = Math.round(r.peer.opsPerSec.median)
    json.peerP50Us = round(r.peer.p50Us)
    json.peerP99Us = round(r.peer.p99Us)
    json.ratioVsPeer = round(ratio(r))
  }
  if (r.diana.degradedShare > 0) json.degradedShare = round(r.diana.degradedShare)
  return json
}

export function renderText(table: Table): string {
  const all = [table.header, ...table.rows]
  const widths = table.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)))
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i < table.leftColumns ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return `${[line(table.header), ...table.rows.map(line)].join('\n')}\n`
}

export function renderMarkdown(table: Table): string {
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|')
  const align = table.header.map((_, i) => (i < table.leftColumns ? ':---' : '---:'))
  return `${[table.header, align, ...table.rows].map((row) => `| ${row.map(escapeCell).join(' | ')} |`).join('\n')}\n`
}

function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '-'
}

function range(s: Spread): string {
  return `${count(s.min)}–${count(s.max)}`
}

function micros(us: number): string {
  if (!Number.isFinite(us)) return '-'
  return us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0)
}

function round(n: number): number | null {
  return Number.isFinite(n) ? Math.round(n * 100) / 100 : null
}
