/**
 * A unified-style line diff of two texts, for showing a rule edit before it is applied and in
 * the log. Common leading and trailing lines are cut first; the rest is compared by longest
 * common subsequence when small enough (at most {@link MAX_CELLS} cells), else shown as all
 * removed then all added. Hand-written because it is short and the package takes no
 * dependency for it.
 *
 * It runs on the event loop with text an editor sent, so its work is bounded: lines are
 * numbered first (equal lines, equal numbers), so each cell compares two integers whatever the
 * lines' length (long lines sharing a prefix made each string comparison cost their length),
 * and the answer holds at most {@link MAX_DIFF_LINES} lines.
 */
const MAX_CELLS = 1_000_000
/** Most lines a diff holds; the rest is counted in a last `... N more lines`. */
export const MAX_DIFF_LINES = 2000
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
  // Only the context around the changes is shown: the unchanged lines further out are not
  // even made into lines (a few megabytes of them would cost for nothing).
  const lines: DiffLine[] = [
    ...a.slice(Math.max(0, start - CONTEXT), start).map((text): DiffLine => ({ op: ' ', text })),
    ...middle.lines,
    ...a.slice(endA, endA + CONTEXT).map((text): DiffLine => ({ op: ' ', text })),
  ]
  return withContext(lines, middle.dropped)
}

/** A number per distinct line of either text. */
function numbered(a: string[], b: string[]): Map<string, number> {
  const ids = new Map<string, number>()
  for (const line of a) if (!ids.has(line)) ids.set(line, ids.size)
  for (const line of b) if (!ids.has(line)) ids.set(line, ids.size)
  return ids
}

/** The changed middle as lines, at most {@link MAX_DIFF_LINES} of them, and how many more there were. */
function diffMiddle(a: string[], b: string[]): { lines: DiffLine[]; dropped: number } {
  if (a.length * b.length > MAX_CELLS) {
    const removed = a.slice(0, MAX_DIFF_LINES).map((text): DiffLine => ({ op: '-', text }))
    const added = b.slice(0, MAX_DIFF_LINES - removed.length).map((text): DiffLine => ({ op: '+', text }))
    return { lines: [...removed, ...added], dropped: a.length + b.length - removed.length - added.length }
  }
  const ids = numbered(a, b)
  // lengths[i][j]: the LCS length of a[i..] and b[j..], in one flat array.
  const idA = Int32Array.from(a, (line) => ids.get(line) as number)
  const idB = Int32Array.from(b, (line) => ids.get(line) as number)
  const width = b.length + 1
  const lengths = new Uint32Array((a.length + 1) * width)
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] =
        idA[i] === idB[j]
          ? (lengths[(i + 1) * width + j + 1] as number) + 1
          : Math.max(lengths[(i + 1) * width + j] as number, lengths[i * width + j + 1] as number)
    }
  }
  const out: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (idA[i] === idB[j]) {
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
  return { lines: out, dropped: 0 }
}

/** Only the changed lines and {@link CONTEXT} lines around them; `...` between far-apart changes. */
function withContext(lines: DiffLine[], dropped: number): DiffLine[] {
  const keep = new Array<boolean>(lines.length).fill(false)
  lines.forEach((line, i) => {
    if (line.op === ' ') return
    for (let k = Math.max(0, i - CONTEXT); k <= Math.min(lines.length - 1, i + CONTEXT); k++) keep[k] = true
  })
  const out: DiffLine[] = []
  let skipped = false
  let left = dropped
  lines.forEach((line, i) => {
    if (!keep[i]) {
      skipped = true
      return
    }
    if (out.length >= MAX_DIFF_LINES) {
      left++
      return
    }
    if (skipped && out.length > 0) out.push({ op: ' ', text: '...' })
    skipped = false
    out.push(line)
  })
  if (left > 0 || out.length > MAX_DIFF_LINES) {
    left += out.length - MAX_DIFF_LINES
    out.length = MAX_DIFF_LINES
    out.push({ op: ' ', text: `... ${left} more lines` })
  }
  return out
}

/** The diff as text, one `-`, `+` or space-prefixed line each. */
export function diffText(lines: readonly DiffLine[]): string {
  return lines.map((line) => `${line.op} ${line.text}`).join('\n')
}
