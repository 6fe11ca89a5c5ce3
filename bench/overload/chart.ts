import { escapeXml, svgDocument } from '../svg'
import { VARIANT_LABELS, type Variant } from './options'
import type { Baseline, StepResult } from './run'

const COLORS: Record<Variant, string> = {
  bare: '#9aa5b1',
  'bucket-2x': '#e08a1e',
  bucket: '#7b61c9',
  adaptive: '#2f6fdf',
}

/**
 * An SVG line chart of goodput (share of capacity) against offered load, one line per
 * variant, with the capacity and the adaptive rule's 85 % target marked.
 */
export function overloadSvg(title: string, results: readonly StepResult[], baseline: Baseline): string {
  const left = 56
  const top = 58
  const plotW = 460
  const plotH = 260
  const legendW = 210
  const width = left + plotW + legendW
  const height = top + plotH + 52
  const offered = [...new Set(results.map((r) => r.offered))].sort((a, b) => a - b)
  const maxX = Math.max(...offered, 1)
  const maxShare = Math.max(1, ...results.map((r) => r.goodputShare).filter(Number.isFinite))
  const maxY = Math.ceil((maxShare * 100 + 5) / 20) * 20
  const x = (v: number) => left + (v / maxX) * plotW
  const y = (percent: number) => Math.round((top + plotH - (percent / maxY) * plotH) * 10) / 10
  const parts: string[] = []
  for (let p = 0; p <= maxY; p += 20) {
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(p)}" y2="${y(p)}" class="grid"/>`,
      `<text x="${left - 8}" y="${y(p) + 4}" text-anchor="end" class="tick">${p}%</text>`,
    )
  }
  for (const v of offered) {
    parts.push(
      `<text x="${x(v).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" class="tick">${v}×</text>`,
    )
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${y(100)}" y2="${y(100)}" class="capacity"/>`,
    `<text x="${left + plotW - 4}" y="${y(100) - 5}" text-anchor="end" class="note">capacity ${Math.round(baseline.capacity)}/s</text>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${y(85)}" y2="${y(85)}" class="target"/>`,
    `<text x="${left + plotW - 4}" y="${y(85) + 13}" text-anchor="end" class="note">85% target</text>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" class="axis"/>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/>`,
    `<text x="${left + plotW / 2}" y="${top + plotH + 40}" text-anchor="middle" class="label">offered load (× capacity)</text>`,
  )
  const variants = [...new Set(results.map((r) => r.variant))]
  variants.forEach((variant, i) => {
    const points = results
      .filter((r) => r.variant === variant)
      .sort((a, b) => a.offered - b.offered)
      .map((r) => ({ r, px: x(r.offered), py: y(r.goodputShare * 100) }))
    const color = COLORS[variant]
    const label = escapeXml(VARIANT_LABELS[variant])
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${points.map((p) => `${p.px.toFixed(1)},${p.py.toFixed(1)}`).join(' ')}"/>`,
      ...points.map(
        (p) =>
          `<circle cx="${p.px.toFixed(1)}" cy="${p.py.toFixed(1)}" r="3.5" fill="${color}"><title>${label} at ${p.r.offered}×: goodput ${(p.r.goodputShare * 100).toFixed(0)}% of capacity, p99 ${p.r.p99Ms.toFixed(1)} ms, shed ${(p.r.shedShare * 100).toFixed(0)}%</title></circle>`,
      ),
    )
    const ly = top + 10 + i * 22
    parts.push(
      `<line x1="${left + plotW + 20}" x2="${left + plotW + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${left + plotW + 50}" y="${ly + 4}" class="legend">${label}</text>`,
    )
  })
  const unit = `goodput: responses within ${baseline.sloMs.toFixed(0)} ms (3× the unloaded p50), as a share of capacity`
  return svgDocument({
    width,
    height,
    title,
    unit,
    style:
      '.tick{font-size:11px;fill:#52606d}.label{font-size:12px;fill:#3e4c59}.legend{font-size:12px;fill:#1f2933}.note{font-size:10px;fill:#7b8794}.grid{stroke:#eef1f4}.axis{stroke:#7b8794}.capacity{stroke:#7b8794;stroke-dasharray:5 4}.target{stroke:#2f6fdf;stroke-opacity:0.5;stroke-dasharray:2 3}',
    parts,
  })
}
