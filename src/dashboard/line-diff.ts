/**
 * A unified-style line diff of two texts, for showing a rule edit before it is applied and in
 * the log. Common leading and trailing lines are cut first; the rest is compared by longest
 * common subsequence when small enough (at most {@link MAX_CELLS} cells), else shown as all
 * removed then all added. Hand-written because it is short and the package takes no
 * dependency for it; the bound keeps a hostile edit from costing more than a few milliseconds.
 */
const MAX_CELLS = 1_000_000
/** Unchanged lines kept around each change. */
const CONTEXT = 2

export type DiffLine = { op: ' ' | '-' | '+'; text: string }

export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n')
  const b = after.split('\n')
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const middle = diffMiddle(a.slice(start, endA), b.slice(start, endB))
  const lines: DiffLine[] = [
    ...a.slice(0, start).map((text): DiffLine => ({ op: ' ', text })),
    ...middle,
    ...a.slice(endA).map((text): DiffLine => ({ op: ' ', text })),
  ]
  return withContext(lines)
}

function diffMiddle(a: string[], b: string[]): DiffLine[] {
  if (a.length * b.length > MAX_CELLS) {
    return [
      ...a.map((text): DiffLine => ({ op: '-', text })),
      ...b.map((text): DiffLine => ({ op: '+', text })),
    ]
  }
  // lengths[i][j]: the LCS length of a[i..] and b[j..], in one flat array.
  const width = b.length + 1
  const lengths = new Uint32Array((a.length + 1) * width)
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * width + j + 1] as number) + 1
          : Math.max(lengths[(i + 1) * width + j] as number, lengths[i * width + j + 1] as number)
    }
  }
  const out: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] as string })
      i++
      j++
    } else if ((lengths[(i + 1) * width + j] as number) >= (lengths[i * width + j + 1] as number)) {
      out.push({ op: '-', text: a[i++] as string })
    } else {
      out.push({ op: '+', text: b[j++] as string })
    }
  }
  while (i < a.length) out.push({ op: '-', text: a[i++] as string })
  while (j < b.length) out.push({ op: '+', text: b[j++] as string })
  return out
}

/** Only the changed lines and {@link CONTEXT} lines around them; `...` between far-apart changes. */
function withContext(lines: DiffLine[]): DiffLine[] {
  const keep = new Array<boolean>(lines.length).fill(false)
  lines.forEach((line, i) => {
    if (line.op === ' ') return
    for (let k = Math.max(0, i - CONTEXT); k <= Math.min(lines.length - 1, i + CONTEXT); k++) keep[k] = true
  })
  const out: DiffLine[] = []
  let skipped = false
  lines.forEach((line, i) => {
    if (keep[i]) {
      if (skipped && out.length > 0) out.push({ op: ' ', text: '...' })
      skipped = false
      out.push(line)
    } else skipped = true
  })
  return out
}

/** The diff as text, one `-`, `+` or space-prefixed line each. */
export function diffText(lines: readonly DiffLine[]): string {
  return lines.map((line) => `${line.op} ${line.text}`).join('\n')
}
