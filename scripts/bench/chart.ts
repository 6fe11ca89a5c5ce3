/**
 * An SVG bar chart from `diana bench --json` output, for docs/benchmarks.md. Decision lines
 * give one group per scenario (Diana and, with --compare, rate-limiter-flexible, in ops/s);
 * `diana bench http` lines give one group per framework (server CPU µs per request).
 *
 *   node bin/diana.js bench --compare --json > results.jsonl
 *   npx tsx scripts/bench/chart.ts results.jsonl [more.jsonl ...] --title "..." > docs/benchmarks.svg
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { escapeXml, svgDocument } from '../../bench/svg'

interface Bar {
  label: string
  value: number
  color: string
}
interface Group {
  label: string
  bars: Bar[]
  note?: string
}

const COLORS = { diana: '#2f6fdf', peer: '#9aa5b1', none: '#d6dbe0' }

export function groupsFromLines(lines: readonly Record<string, unknown>[]): {
  groups: Group[]
  unit: string
} {
  const http = lines.filter((line) => line.scenario === 'http')
  if (http.length > 0) {
    const frameworks = [...new Set(http.map((line) => String(line.framework)))]
    return {
      unit: 'server CPU µs per request (lower is better)',
      groups: frameworks.map((framework) => ({
        label: framework,
        bars: http
          .filter((line) => line.framework === framework)
          .map((line) => ({
            label: String(line.limiter),
            value: Number(line.cpuUsPerReq),
            color:
              line.limiter === 'diana' ? COLORS.diana : line.limiter === 'none' ? COLORS.none : COLORS.peer,
          })),
      })),
    }
  }
  return {
    unit: 'decisions per second, median (higher is better)',
    groups: lines.map((line) => {
      const bars: Bar[] = [{ label: 'diana', value: Number(line.opsPerSec), color: COLORS.diana }]
      if (typeof line.peerOpsPerSec === 'number') {
        bars.push({ label: String(line.peer ?? 'peer'), value: line.peerOpsPerSec, color: COLORS.peer })
      }
      const keys = Number(line.keys)
      return {
        label: `${line.algorithm} · ${line.store} · ${keys === 1 ? 'hot key' : `${keys.toLocaleString('en')} keys`} · ${line.concurrency} in flight`,
        bars,
        ...(typeof line.ratioVsPeer === 'number' ? { note: `${line.ratioVsPeer.toFixed(2)}x` } : {}),
      }
    }),
  }
}

export function renderSvg(title: string, unit: string, groups: readonly Group[]): string {
  const barHeight = 16
  const gap = 4
  const groupGap = 14
  // About 6.6 px per character at 12 px; wide enough for the longest group label.
  const labelWidth = Math.max(160, Math.ceil(Math.max(...groups.map((g) => g.label.length)) * 6.6) + 24)
  const chartWidth = 420
  const right = 230
  const top = 52
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite), 1)
  const parts: string[] = []
  let y = top
  for (const group of groups) {
    const groupHeight = group.bars.length * (barHeight + gap) - gap
    parts.push(
      `<text x="${labelWidth - 10}" y="${y + groupHeight / 2 + 4}" text-anchor="end" class="group">${escapeXml(group.label)}</text>`,
    )
    group.bars.forEach((bar, i) => {
      const by = y + i * (barHeight + gap)
      const width = Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * chartWidth) : 0
      parts.push(
        `<rect x="${labelWidth}" y="${by}" width="${width.toFixed(1)}" height="${barHeight}" fill="${bar.color}"><title>${escapeXml(bar.label)}: ${formatValue(bar.value)}</title></rect>`,
        `<text x="${labelWidth + width + 6}" y="${by + barHeight - 4}" class="value">${escapeXml(bar.label)} ${formatValue(bar.value)}</text>`,
      )
    })
    if (group.note) {
      parts.push(
        `<text x="${labelWidth + chartWidth + right - 10}" y="${y + groupHeight / 2 + 4}" text-anchor="end" class="ratio">${escapeXml(group.note)}</text>`,
      )
    }
    y += groupHeight + groupGap
  }
  const width = labelWidth + chartWidth + right
  const height = y + 10
  return svgDocument({
    width,
    height,
    title,
    unit,
    style:
      '.group{font-size:12px;fill:#1f2933}.value{font-size:11px;fill:#3e4c59}.ratio{font-size:13px;font-weight:600;fill:#2f6fdf}',
    parts,
  })
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return '-'
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`
  if (value >= 1e4) return `${(value / 1e3).toFixed(0)}k`
  return value < 100 ? value.toFixed(1) : value.toFixed(0)
}

function readLines(files: readonly string[]): Record<string, unknown>[] {
  const texts = files.length > 0 ? files.map((file) => readFileSync(file, 'utf8')) : [readFileSync(0, 'utf8')]
  return texts
    .flatMap((text) => text.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

if (process.argv[1] && /chart\.[cm]?[jt]s$/.test(process.argv[1])) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { title: { type: 'string', default: 'diana bench' } },
  })
  const { groups, unit } = groupsFromLines(readLines(positionals))
  process.stdout.write(renderSvg(values.title as string, unit, groups))
}
